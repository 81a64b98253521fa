package dev.machineid.issuer.join;

import dev.machineid.core.protocol.ErrorCode;
import java.util.Objects;

/**
 * A verifier refused a proof. The client sees only {@link #code()}; the message is the
 * operator-facing reason, written to the audit log and the issuer's log. Never put secrets in it.
 */
public class JoinRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  public JoinRejectedException(ErrorCode code, String reason) {
    super(Objects.requireNonNull(reason, "reason"));
    this.code = Objects.requireNonNull(code, "code");
  }

  public JoinRejectedException(ErrorCode code, String reason, Throwable cause) {
    super(Objects.requireNonNull(reason, "reason"), cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** The code the client sees, such as {@code proof_rejected}. */
  public ErrorCode code() {
    return code;
  }

  /** The operator-facing reason. */
  public String reason() {
    return getMessage();
  }
}
