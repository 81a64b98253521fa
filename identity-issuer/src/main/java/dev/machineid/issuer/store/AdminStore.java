package dev.machineid.issuer.store;

import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.IssuerStore;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Admin identities allowed on the admin API, kept as tombstones once removed. Part of {@link IssuerStore}.
 */
public interface AdminStore {
  /**
   * Records an admin allowed on the admin API. A name that was removed before is recorded again as a
   * new admin whose {@link AdminIdentity#notBefore()} is {@code admin.createdAt()}, so that the
   * certificates issued to the removed one stay refused.
   *
   * @return false if an admin with that name is recorded
   */
  boolean insertAdmin(AdminIdentity admin);

  /** The recorded (not removed) admin of that name. */
  Optional<AdminIdentity> findAdmin(String name);

  /** Every recorded (not removed) admin, by name. */
  List<AdminIdentity> admins();

  /**
   * Removes an admin at {@code at}: a revocation ({@link IssuerStore#awaitRevocations()}); its certificates are
   * refused from then on, also after the name is added again.
   *
   * @return false if no admin of that name is recorded
   */
  boolean removeAdmin(String name, Instant at);
}
