package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.query;
import static dev.machineid.issuer.store.Jdbc.update;

import dev.machineid.issuer.AdminIdentity;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The {@code admins} table of the JDBC store ({@link AdminStore}): an admin is read by its name (the
 * primary key); a removed admin stays as a tombstone ({@code removed_at}) so that its certificates
 * stay refused. Each method runs on the connection it is given; an insert is two statements and a
 * removal a revocation, so the store runs both in a transaction.
 */
final class JdbcAdmins {
  private static final String COLUMNS = "name, created_at, not_before";

  boolean insert(Connection c, AdminIdentity admin) throws SQLException {
    if (update(
            c,
            "INSERT INTO admins (" + COLUMNS + ") VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            admin.name(),
            admin.createdAt(),
            admin.notBefore())
        == 1) {
      return true;
    }
    // a removed admin's name: a new record, refusing the certificates of the removed one
    return update(
            c,
            "UPDATE admins SET created_at = ?, removed_at = NULL, not_before = ? WHERE name = ? AND removed_at IS NOT NULL",
            admin.createdAt(),
            admin.notBefore() != null ? admin.notBefore() : admin.createdAt(),
            admin.name())
        == 1;
  }

  Optional<AdminIdentity> find(Connection c, String name) throws SQLException {
    return query(
            c,
            JdbcAdmins::admin,
            "SELECT " + COLUMNS + " FROM admins WHERE name = ? AND removed_at IS NULL",
            name)
        .stream()
        .findFirst();
  }

  List<AdminIdentity> list(Connection c) throws SQLException {
    return query(
        c,
        JdbcAdmins::admin,
        "SELECT " + COLUMNS + " FROM admins WHERE removed_at IS NULL ORDER BY name");
  }

  /** Marks the admin removed at {@code at}; the caller makes the transaction a revocation first. */
  boolean remove(Connection c, String name, Instant at) throws SQLException {
    return update(
            c, "UPDATE admins SET removed_at = ? WHERE name = ? AND removed_at IS NULL", at, name)
        == 1;
  }

  private static AdminIdentity admin(ResultSet rs) throws SQLException {
    return new AdminIdentity(
        rs.getString("name"), instant(rs, "created_at"), instant(rs, "not_before"));
  }
}
