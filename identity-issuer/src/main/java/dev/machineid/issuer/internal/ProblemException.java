package dev.machineid.issuer.internal;

import dev.machineid.core.ErrorCode;
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
  /** The bot the refused call concerns, for its audit trail, when the call itself could not name it; or {@code null}. */
  private final String bot;

  public ProblemException(ErrorCode code, String clientDetail, String operatorReason) {
    this(
        code,
        Text.inert(clientDetail),
        Text.inert(Objects.requireNonNull(operatorReason, "operatorReason")),
        null);
  }

  private ProblemException(
      ErrorCode code, String inertClientDetail, String inertReason, String bot) {
    // inert: reasons quote client-supplied text and go to the log and the audit trail
    super(code, inertReason, null, false);
    this.clientDetail = inertClientDetail;
    this.bot = bot;
  }

  /** The same refusal, attributed to {@code bot} in the audit trail (a join refused after its token named the bot). */
  public ProblemException concerning(String bot) {
    return new ProblemException(code(), clientDetail, getMessage(), bot);
  }

  /** The bot this refusal is attributed to, or {@code null}. */
  public String bot() {
    return bot;
  }

  /** A problem whose client detail and operator reason are the same (safe to show) text. */
  public static ProblemException of(ErrorCode code, String detail) {
    return new ProblemException(code, detail, detail);
  }

  public String clientDetail() {
    return clientDetail;
  }
}
