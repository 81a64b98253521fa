package dev.machineid.issuer.store;

import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Role;
import java.util.List;
import java.util.Optional;

/**
 * Roles by name. Part of {@link IssuerStore}.
 */
public interface RoleStore {
  /** @return false if a role with that name exists */
  boolean insertRole(Role role);

  Optional<Role> findRole(String name);

  /** Every role, by name. */
  List<Role> roles();

  /** @return false if there was no such role */
  boolean deleteRole(String name);

  /**
   * Replaces the stored role of {@code role.name()} by {@code role}, keeping its creation time; the
   * next issuance reads the new one.
   *
   * @return false if there was no such role (nothing changes)
   */
  boolean updateRole(Role role);
}
