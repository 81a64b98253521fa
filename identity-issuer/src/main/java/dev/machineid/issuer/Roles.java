package dev.machineid.issuer;

import java.util.List;
import java.util.Optional;

/**
 * The issuer's role resources ({@link Issuer#roles()}): what a bot holding them may obtain at
 * {@code /v1/certificates}. Each change commits with its audit event. The Java API and the admin
 * HTTP API ({@code /v1/admin/roles}) call the same service. Implemented by the issuer; not for
 * implementing.
 */
public interface Roles {

  /**
   * Stores a role resource.
   *
   * @return the stored role, with its creation time
   * @throws IllegalStateException if a role of that name exists
   */
  Role create(Role role);

  /**
   * Replaces a stored role, keeping its creation time, with its audit event: the next issuance for
   * every bot holding it (renewal, {@code /v1/certificates}) follows the new definition; credentials
   * already issued keep what they were issued with until they expire.
   *
   * @return the stored role, or empty if there is no role of that name (nothing changes)
   */
  Optional<Role> update(Role role);

  /** Every role. */
  List<Role> list();

  /** The role of that name, if there is one. */
  Optional<Role> find(String name);

  /** @return false if there was no such role */
  boolean delete(String name);
}
