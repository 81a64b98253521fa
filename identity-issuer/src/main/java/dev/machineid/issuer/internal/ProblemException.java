package dev.machineid.issuer.internal;

import dev.machineid.core.protocol.ErrorCode;
import dev.machineid.issuer.IssuerServiceException;
import java.util.Objects;

/**
 * A request fails with a protocol error. {@link #clientDetail()} goes into the problem document;
 * {@link #getMessage()} is the operator-facing reason for the log and the audit trail. Both have
 * their control characters escaped ({@link Text#inert}), as they may quote what a client sent.
 */
public final class ProblemException extends IssuerServiceException {
  private static final long serialVersionUID = 1L;
  private final String clientDetail;

  public ProblemException(ErrorCode code, String clientDetail, String operatorReason) {
    // inert: reasons quote client-supplied text and go to the log and the audit trail
    super(code, Text.inert(Objects.requireNonNull(operatorReason, "operatorReason")), null, false);
    this.clientDetail = Text.inert(clientDetail);
  }

  /** A problem whose client detail and operator reason are the same (safe to show) text. */
  public static ProblemException of(ErrorCode code, String detail) {
    return new ProblemException(code, detail, detail);
  }

  public String clientDetail() {
    return clientDetail;
  }
}
