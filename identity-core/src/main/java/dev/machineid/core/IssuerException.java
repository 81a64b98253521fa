package dev.machineid.core;

/** The issuer answered with a problem document; {@link #code()} is its stable error code. */
public class IssuerException extends IdentityException {
  private static final long serialVersionUID = 1L;
  private final String code;
  private final int status;

  public IssuerException(String message, String code, int status) {
    super(message);
    this.code = code;
    this.status = status;
  }

  /** The wire code, such as {@code token_consumed}; {@code unknown} if the issuer sent none. */
  public String code() {
    return code;
  }

  /** The code as an enum constant, or {@code null} for a code this SDK version does not know. */
  public ErrorCode errorCode() {
    return ErrorCode.fromCode(code);
  }

  public int status() {
    return status;
  }

  /** True for errors that cannot succeed on a plain retry (locked, consumed, denied, rejected). */
  public boolean isPermanent() {
    ErrorCode c = errorCode();
    return c == ErrorCode.BOT_LOCKED
        || c == ErrorCode.TOKEN_CONSUMED
        || c == ErrorCode.TOKEN_EXPIRED
        || c == ErrorCode.ROLE_DENIED
        || c == ErrorCode.GENERATION_MISMATCH
        || c == ErrorCode.PROOF_REJECTED
        || c == ErrorCode.UNKNOWN_JOIN_METHOD
        || c == ErrorCode.UNAUTHENTICATED;
  }
}
