package dev.machineid.issuer.store;

import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.Lock;
import java.time.Instant;
import java.util.Collection;
import java.util.List;

/**
 * Locks on bots, instances, tokens, identities and serials. Part of {@link IssuerStore}.
 */
public interface LockStore {
  /**
   * Stores a lock; a revocation, ordered against issuing transactions ({@link IssuerStore#awaitRevocations()}).
   *
   * @return false if a lock with that id exists
   */
  boolean insertLock(Lock lock);

  /** Locks active at {@code now} whose (target, value) is one of {@code targets}. */
  List<Lock> findActiveLocks(Collection<LockKey> targets, Instant now);

  /** Every lock, active or expired, oldest first. */
  List<Lock> locks();

  /** @return false if there was no such lock */
  boolean deleteLock(String lockId);
}
