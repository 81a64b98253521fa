package dev.machineid.issuer.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * The statement helpers every part of the JDBC store shares: binding (instants as microsecond
 * {@code timestamp with time zone}), updates by row count, and reading instants back. Each works on
 * the connection it is given, so that the parts of one change share the caller's transaction.
 */
final class Jdbc {
  private Jdbc() {}

  @FunctionalInterface
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  static OffsetDateTime ts(Instant t) {
    return t == null ? null : OffsetDateTime.ofInstant(t.truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
  }

  static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
    return t == null ? null : t.toInstant();
  }

  static int update(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      return ps.executeUpdate();
    }
  }

  static void bind(PreparedStatement ps, Object... args) throws SQLException {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a instanceof Instant t) {
        ps.setObject(i + 1, ts(t));
      } else if (a == null) {
        ps.setObject(i + 1, null);
      } else {
        ps.setObject(i + 1, a);
      }
    }
  }
}
