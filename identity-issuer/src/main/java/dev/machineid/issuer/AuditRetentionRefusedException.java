package dev.machineid.issuer;

import dev.machineid.core.ErrorCode;

/**
 * A prune of the audit log ({@link Audit#prune}) was refused because the chain does not verify:
 * nothing was removed. The message names the broken row, as {@code issuer audit verify} does;
 * {@link #brokenSequence()} is its sequence number. Its {@link #code()} is
 * {@code malformed_request}, the code the admin API gives every call that conflicts with the
 * stored state (the protocol has no separate one); it is the log, not the issuer, that is at fault,
 * so it is never {@code internal}.
 */
public final class AuditRetentionRefusedException extends IssuerServiceException {
  private static final long serialVersionUID = 1L;
  private final long brokenSequence;

  public AuditRetentionRefusedException(long brokenSequence, String problem) {
    super(
        ErrorCode.MALFORMED_REQUEST,
        "audit retention refused, nothing was removed: " + problem,
        null,
        false);
    this.brokenSequence = brokenSequence;
  }

  /** The sequence number of the row at which the chain does not verify. */
  public long brokenSequence() {
    return brokenSequence;
  }
}
