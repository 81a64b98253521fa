package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.fromJson;
import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.json;
import static dev.machineid.issuer.store.Jdbc.query;

import dev.machineid.issuer.Role;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The {@code roles} table of the JDBC store ({@link RoleStore}): a role is read by its name (the
 * primary key); its specification is a JSON column, its creation time a column of its own. Each
 * method runs on the connection it is given.
 */
final class JdbcRoles {
  boolean insert(Connection c, Role role) throws SQLException {
    Instant created = role.createdAt() == null ? Instant.now() : role.createdAt();
    return Jdbc.update(
            c,
            "INSERT INTO roles (name, spec, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            role.name(),
            json(role.createdAt(null)),
            created)
        == 1;
  }

  Optional<Role> find(Connection c, String name) throws SQLException {
    return query(c, JdbcRoles::role, "SELECT spec, created_at FROM roles WHERE name = ?", name)
        .stream()
        .findFirst();
  }

  List<Role> list(Connection c) throws SQLException {
    return query(c, JdbcRoles::role, "SELECT spec, created_at FROM roles ORDER BY name");
  }

  boolean delete(Connection c, String name) throws SQLException {
    return Jdbc.update(c, "DELETE FROM roles WHERE name = ?", name) == 1;
  }

  /** Replaces the specification, keeping the creation time. */
  boolean update(Connection c, Role role) throws SQLException {
    return Jdbc.update(
            c, "UPDATE roles SET spec = ? WHERE name = ?", json(role.createdAt(null)), role.name())
        == 1;
  }

  private static Role role(ResultSet rs) throws SQLException {
    return fromJson(rs.getString("spec"), Role.class).createdAt(instant(rs, "created_at"));
  }
}
