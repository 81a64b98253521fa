package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.query;
import static dev.machineid.issuer.store.Jdbc.update;

import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.Lock;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * The {@code locks} table of the JDBC store ({@link LockStore}): active locks are read by their
 * targets (indexed on target and value), a lock is deleted by its id (the primary key). Each method
 * runs on the connection it is given; an insert is a revocation, which the caller marks first in the
 * same transaction.
 */
final class JdbcLocks {
  static final String COLUMNS = "id, target, target_value, reason, created_at, expires_at";

  boolean insert(Connection c, Lock lock) throws SQLException {
    return update(
            c,
            "INSERT INTO locks (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            lock.id(),
            lock.target().label(),
            lock.value(),
            lock.reason(),
            lock.createdAt(),
            lock.expiresAt())
        == 1;
  }

  /** The locks active at {@code now} on any of {@code targets} (not empty), oldest first. */
  List<Lock> findActive(Connection c, Collection<LockKey> targets, Instant now)
      throws SQLException {
    StringBuilder sql = new StringBuilder(
        "SELECT " + COLUMNS + " FROM locks WHERE (expires_at IS NULL OR expires_at > ?) AND (");
    List<Object> args = new ArrayList<>();
    args.add(now);
    int i = 0;
    for (LockKey k : targets) {
      sql.append(i++ == 0 ? "" : " OR ").append("(target = ? AND target_value = ?)");
      args.add(k.target().label());
      args.add(k.value());
    }
    sql.append(") ORDER BY created_at, id");
    return query(c, rs -> lock(rs, ""), sql.toString(), args.toArray());
  }

  List<Lock> list(Connection c) throws SQLException {
    return query(
        c, rs -> lock(rs, ""), "SELECT " + COLUMNS + " FROM locks ORDER BY created_at, id");
  }

  boolean delete(Connection c, String lockId) throws SQLException {
    return update(c, "DELETE FROM locks WHERE id = ?", lockId) == 1;
  }

  /** The lock in the current row, its columns named with {@code prefix}. */
  static Lock lock(ResultSet rs, String prefix) throws SQLException {
    return new Lock(
        rs.getString(prefix + "id"),
        Lock.Target.valueOf(rs.getString(prefix + "target").toUpperCase(Locale.ROOT)),
        rs.getString(prefix + "target_value"),
        rs.getString(prefix + "reason"),
        instant(rs, prefix + "created_at"),
        instant(rs, prefix + "expires_at"));
  }
}
