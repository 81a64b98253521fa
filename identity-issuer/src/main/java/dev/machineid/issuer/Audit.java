package dev.machineid.issuer;

import java.time.Instant;
import java.util.List;

/**
 * The hash-chained audit log ({@link Issuer#audit()}): reading, verifying and pruning it. The Java
 * API and the admin HTTP API ({@code /v1/admin/audit}) call the same service. Implemented by the
 * issuer; not for implementing.
 */
public interface Audit {

  /** Every audit event, oldest first. */
  List<AuditEvent> events();

  /**
   * The newest events matching {@code query}, oldest first, filtered and limited in the store;
   * only events on the chain (none beyond its head).
   */
  List<AuditEvent> events(AuditQuery query);

  /**
   * Checks the hash-chained audit log from its first row to its head: every row present, linked
   * to the previous one and matching its hash.
   *
   * @return {@link AuditVerification#intact()} or the first broken row
   */
  AuditVerification verify();

  /**
   * As {@link #verify()}, and also that row {@code pinnedSequence} still has {@code pinnedHash}:
   * the head of an earlier verification, kept elsewhere, so that a head rewound with the rows after
   * it removed is detected by any process.
   */
  AuditVerification verify(long pinnedSequence, String pinnedHash);

  /**
   * Audit retention: removes the events older than {@code before} from the front of the chain once
   * it verifies, keeping the last removed row as the chain's anchor so that the rest still
   * verifies, and records the prune (every anchor after it) in an {@code audit.pruned} event that
   * verification checks the anchors against. The store's database role needs {@code DELETE} on
   * {@code audit_events}.
   *
   * @return how many events were removed
   * @throws AuditRetentionRefusedException if the chain does not verify: nothing is removed, and
   *     the message names the broken row
   */
  int prune(Instant before);
}
