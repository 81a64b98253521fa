package dev.machineid.issuer.store;

import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditQuery;
import dev.machineid.issuer.AuditRetentionRefusedException;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.IssuerStore;
import java.time.Instant;
import java.util.List;

/**
 * The hash-chained audit log: appends in the caller's transaction, listings, verification and retention. Part of {@link IssuerStore}.
 */
public interface AuditStore {
  /**
   * Appends an event to the hash-chained audit log, in the caller's transaction when called inside
   * {@link IssuerStore#inTransaction(java.util.function.Function)}; the store keeps append order.
   */
  void appendAudit(AuditEvent event);

  /**
   * Every event on the chain (from the anchor to the head), in the order appended. Rows beyond the
   * chain head, which no append wrote, are left out. Reads the whole log: use
   * {@link #auditEvents(AuditQuery)} for listings.
   */
  List<AuditEvent> auditEvents();

  /**
   * The newest {@code query.limit()} events on the chain matching the query, oldest first,
   * filtered and limited in the store (reading no more than that many rows).
   */
  List<AuditEvent> auditEvents(AuditQuery query);

  /**
   * Checks the audit chain from its anchor to its head: every row present, linked and matching its
   * hash; no row beyond the head; the head not behind the newest head this store appended or
   * verified. A chain split into shards is checked shard by shard, with the checkpoints that tie
   * them together; the head reported is then the newest checkpoint.
   */
  AuditVerification verifyAudit();

  /**
   * As {@link #verifyAudit()}, and also that the chain still holds row {@code pinnedSequence} with
   * hash {@code pinnedHash} (a head printed by an earlier verification and kept elsewhere): a head
   * rewound below it, with the rows after it removed, is then reported.
   */
  AuditVerification verifyAudit(long pinnedSequence, String pinnedHash);

  /**
   * Audit retention: verifies the chain, then removes the rows before {@code before} from its
   * front, moving the anchor to the last removed row so that the rest still verifies, and records
   * the prune (every anchor after it) in an {@code audit.pruned} event in the same transaction: an
   * anchor no such event vouches for fails verification. Needs
   * {@code DELETE} on {@code audit_events} and {@code UPDATE} on {@code audit_anchors}, which
   * replicas are not granted.
   *
   * @return how many rows were removed
   * @throws AuditRetentionRefusedException if the chain does not verify
   *     (nothing is removed then; the message names the broken row)
   */
  int pruneAudit(Instant before);
}
