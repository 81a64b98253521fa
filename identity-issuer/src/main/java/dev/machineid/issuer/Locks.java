package dev.machineid.issuer;

import java.util.List;

/**
 * Locks ({@link Issuer#locks()}): refuse every authenticated call of what they name (a bot, an
 * instance, a certificate serial, a token, an attested identity). Each change commits with its
 * audit event. The Java API and the admin HTTP API ({@code /v1/admin/locks}) call the same
 * service. Implemented by the issuer; not for implementing.
 */
public interface Locks {

  /**
   * Stores a lock made with the {@link Lock} factories.
   *
   * @return the stored lock with its id and creation time
   * @throws IllegalArgumentException if the lock expires at or before now: it would never apply
   */
  Lock create(Lock lock);

  /** Every lock, including expired ones and those the issuer set itself. */
  List<Lock> list();

  /** @return false if there was no such lock */
  boolean remove(String id);
}
