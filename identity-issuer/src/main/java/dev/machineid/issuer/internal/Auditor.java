package dev.machineid.issuer.internal;

import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.IssuerStore;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Writes audit events to the store with the issuer's clock: on their own, or with a {@code tx}
 * store view from {@link IssuerStore#inTransaction} so that the event commits with the change it
 * records.
 */
public final class Auditor {
  /** Who causes the changes made on this thread, recorded as {@code actor} in their events. */
  private static final ThreadLocal<String> ACTOR = new ThreadLocal<>();

  private final IssuerStore store;
  private final Clock clock;

  public Auditor(IssuerStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /**
   * Runs {@code action} with every event it writes on this thread attributed to {@code actor}
   * (e.g. {@code admin:alice}); events written through the Java API outside such a scope carry no
   * actor, events of bots carry the bot and instance instead.
   */
  public static <T> T actingAs(String actor, java.util.concurrent.Callable<T> action) throws Exception {
    String outer = ACTOR.get();
    ACTOR.set(actor);
    try {
      return action.call();
    } finally {
      if (outer == null) {
        ACTOR.remove();
      } else {
        ACTOR.set(outer);
      }
    }
  }

  public void success(String type, String bot, String instanceId, Map<String, String> detail) {
    write(store, type, bot, instanceId, AuditEvent.SUCCESS, detail);
  }

  public void failure(String type, String bot, String instanceId, Map<String, String> detail) {
    write(store, type, bot, instanceId, AuditEvent.FAILURE, detail);
  }

  /** Appends a success event in the transaction of {@code tx}. */
  public void success(IssuerStore tx, String type, String bot, String instanceId, Map<String, String> detail) {
    write(tx, type, bot, instanceId, AuditEvent.SUCCESS, detail);
  }

  private void write(IssuerStore target, String type, String bot, String instanceId, String outcome, Map<String, String> detail) {
    Map<String, String> clean = new LinkedHashMap<>();
    String actor = ACTOR.get();
    if (actor != null) {
      clean.put("actor", actor);
    }
    detail.forEach((k, v) -> {
      if (k != null && v != null) {
        clean.put(k, v);
      }
    });
    target.appendAudit(new AuditEvent(UUID.randomUUID().toString(), clock.instant(), type, bot, instanceId, outcome, clean));
  }
}
