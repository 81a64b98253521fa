package dev.machineid.issuer.internal.audit;

import dev.machineid.issuer.Audit;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditQuery;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.IssuerStore;
import java.time.Instant;
import java.util.List;

/** {@link Audit} on the store's hash-chained log. */
public final class AuditService implements Audit {
  private final IssuerStore store;
  private final Runnable open;

  /** @param open throws {@link IllegalStateException} once the issuer is closed */
  public AuditService(IssuerStore store, Runnable open) {
    this.store = store;
    this.open = open;
  }

  @Override
  public List<AuditEvent> events() {
    open.run();
    return store.auditEvents();
  }

  @Override
  public List<AuditEvent> events(AuditQuery query) {
    open.run();
    return store.auditEvents(query);
  }

  @Override
  public AuditVerification verify() {
    open.run();
    return store.verifyAudit();
  }

  @Override
  public AuditVerification verify(long pinnedSequence, String pinnedHash) {
    open.run();
    return store.verifyAudit(pinnedSequence, pinnedHash);
  }

  @Override
  public int prune(Instant before) {
    open.run();
    return store.pruneAudit(before);
  }
}
