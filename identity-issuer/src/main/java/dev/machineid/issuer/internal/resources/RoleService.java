package dev.machineid.issuer.internal.resources;

import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.Roles;
import dev.machineid.issuer.internal.audit.Auditor;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** {@link Roles} on the store, each change with its audit event in one transaction. */
public final class RoleService implements Roles {
  private final IssuerStore store;
  private final Auditor audit;
  private final Clock clock;
  private final Runnable open;

  /** @param open throws {@link IllegalStateException} once the issuer is closed */
  public RoleService(IssuerStore store, Auditor audit, Clock clock, Runnable open) {
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.open = open;
  }

  @Override
  public Role create(Role role) {
    open.run();
    Role stored = Objects.requireNonNull(role, "role").createdAt(clock.instant());
    boolean inserted = store.inTransaction(tx -> {
      if (!tx.insertRole(stored)) {
        return false;
      }
      audit.success(tx, "role.created", null, null, Map.of("role", role.name()));
      return true;
    });
    if (!inserted) {
      throw new IllegalStateException(
          "role '" + role.name() + "' already exists; delete it first or choose another name");
    }
    return stored;
  }

  @Override
  public Optional<Role> update(Role role) {
    open.run();
    Objects.requireNonNull(role, "role");
    return store.inTransaction(tx -> {
      Optional<Role> current = tx.findRole(role.name());
      if (current.isEmpty() || !tx.updateRole(role)) {
        return Optional.<Role>empty();
      }
      audit.success(tx, "role.updated", null, null, Map.of("role", role.name()));
      return Optional.of(role.createdAt(current.get().createdAt()));
    });
  }

  @Override
  public List<Role> list() {
    open.run();
    return store.roles();
  }

  @Override
  public Optional<Role> find(String name) {
    open.run();
    return store.findRole(Objects.requireNonNull(name, "name"));
  }

  @Override
  public boolean delete(String name) {
    open.run();
    Objects.requireNonNull(name, "name");
    return store.inTransaction(tx -> {
      if (!tx.deleteRole(name)) {
        return false;
      }
      audit.success(tx, "role.deleted", null, null, Map.of("role", name));
      return true;
    });
  }
}
