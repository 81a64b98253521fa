package dev.machineid.issuer.join;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.IssuerServiceException;
import java.util.Objects;

/**
 * A verifier refused a proof. The client sees only {@link #code()}; the message is the
 * operator-facing reason, written to the audit log and the issuer's log. Never put secrets in it.
 */
public class JoinRejectedException extends IssuerServiceException {
  private static final long serialVersionUID = 1L;

  public JoinRejectedException(ErrorCode code, String reason) {
    super(code, Objects.requireNonNull(reason, "reason"), null);
  }

  public JoinRejectedException(ErrorCode code, String reason, Throwable cause) {
    super(code, Objects.requireNonNull(reason, "reason"), cause);
  }

  // code(): the code the client sees, such as proof_rejected

  /** The operator-facing reason. */
  public String reason() {
    return getMessage();
  }
}
