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
  private final IssuerStore store;
  private final Clock clock;

  public Auditor(IssuerStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
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
    detail.forEach((k, v) -> {
      if (k != null && v != null) {
        clean.put(k, v);
      }
    });
    target.appendAudit(new AuditEvent(UUID.randomUUID().toString(), clock.instant(), type, bot, instanceId, outcome, clean));
  }
}
