package dev.machineid.issuer.internal.resources;

import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Locks;
import dev.machineid.issuer.internal.audit.Auditor;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link Locks} on the store, each change with its audit event in one transaction. */
public final class LockService implements Locks {
  private static final Logger LOG = LoggerFactory.getLogger(LockService.class);

  private final IssuerStore store;
  private final Auditor audit;
  private final Clock clock;
  private final Runnable open;

  /** @param open throws {@link IllegalStateException} once the issuer is closed */
  public LockService(IssuerStore store, Auditor audit, Clock clock, Runnable open) {
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.open = open;
  }

  @Override
  public Lock create(Lock lock) {
    open.run();
    Objects.requireNonNull(lock, "lock");
    // a serial in any form tools print it, stored as the issuer writes serials
    String value =
        lock.target() == Lock.Target.SERIAL ? Lock.normaliseSerial(lock.value()) : lock.value();
    Instant now = clock.instant();
    if (lock.expiresAt() != null && !lock.expiresAt().isAfter(now)) {
      // stored, it would be listed and audited as a lock but never apply
      throw new IllegalArgumentException("the lock's expiry " + lock.expiresAt()
          + " is not after now (" + now + "): it would never apply");
    }
    Lock stored = new Lock(
        UUID.randomUUID().toString(), lock.target(), value, lock.reason(), now, lock.expiresAt());
    Map<String, String> d = new LinkedHashMap<>();
    d.put("lock_id", stored.id());
    d.put("target", stored.target().label());
    d.put("value", stored.value());
    d.put("reason", stored.reason());
    if (stored.expiresAt() != null) {
      d.put("expires", stored.expiresAt().toString());
    }
    // The lock and its audit event commit together.
    store.inTransaction(tx -> {
      tx.insertLock(stored);
      audit.success(
          tx,
          "lock.created",
          stored.target() == Lock.Target.BOT ? stored.value() : null,
          stored.target() == Lock.Target.INSTANCE ? stored.value() : null,
          d);
      return null;
    });
    LOG.warn(
        "lock {} on {} {}: {}",
        stored.id(),
        stored.target().label(),
        stored.value(),
        stored.reason());
    return stored;
  }

  @Override
  public List<Lock> list() {
    open.run();
    return store.locks();
  }

  @Override
  public boolean remove(String id) {
    open.run();
    Objects.requireNonNull(id, "id");
    return store.inTransaction(tx -> {
      if (!tx.deleteLock(id)) {
        return false;
      }
      audit.success(tx, "lock.removed", null, null, Map.of("lock_id", id));
      return true;
    });
  }
}
