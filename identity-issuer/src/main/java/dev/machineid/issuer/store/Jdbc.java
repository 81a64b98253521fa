package dev.machineid.issuer.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.StoreException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;

/**
 * The statement helpers every part of the JDBC store shares: binding (instants as microsecond
 * {@code timestamp with time zone}), updates by row count, queries mapped row by row, reading
 * instants back, JSON columns, and marking a transaction as a revocation. Each works on the
 * connection it is given, so that the parts of one change share the caller's transaction.
 */
final class Jdbc {
  /** The store's own mapper, with the wire model's JSON settings; nobody else can reconfigure it. */
  private static final ObjectMapper JSON = Protocol.newMapper();

  private Jdbc() {}

  @FunctionalInterface
  interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  /** Maps the current row of a result set. */
  @FunctionalInterface
  interface Row<T> {
    T map(ResultSet rs) throws SQLException;
  }

  static OffsetDateTime ts(Instant t) {
    return t == null
        ? null
        : OffsetDateTime.ofInstant(t.truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
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

  /** Every row {@code sql} selects, mapped by {@code row}, in the order the query gives. */
  static <T> List<T> query(Connection c, Row<T> row, String sql, Object... args)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        List<T> out = new ArrayList<>();
        while (rs.next()) {
          out.add(row.map(rs));
        }
        return List.copyOf(out);
      }
    }
  }

  /** A value as the JSON text a column stores. */
  static String json(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  /** A JSON column read back as {@code type}. */
  static <T> T fromJson(String text, TypeReference<T> type) {
    try {
      return JSON.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new StoreException("stored JSON does not parse as " + type.getType(), e);
    }
  }

  /** A JSON column read back as {@code type}. */
  static <T> T fromJson(String text, Class<T> type) {
    try {
      return JSON.readValue(text, type);
    } catch (JsonProcessingException e) {
      throw new StoreException("stored JSON does not parse as " + type.getSimpleName(), e);
    }
  }

  /**
   * Marks the calling transaction as a revocation: takes the revocation row exclusively until it
   * commits, so issuing transactions in flight finish first and later ones see what it changed.
   */
  static void revoke(Connection c) throws SQLException {
    if (update(c, "UPDATE revocations SET epoch = epoch + 1 WHERE id = 1") != 1) {
      throw new SQLException(
          "the revocations row is missing; the schema was not migrated or was damaged");
    }
  }
}
