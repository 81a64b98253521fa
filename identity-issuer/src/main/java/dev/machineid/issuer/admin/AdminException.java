package dev.machineid.issuer.admin;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.IssuerServiceException;

/**
 * An admin call failed: the server's problem code and detail, or a transport failure (status 0,
 * code {@code unavailable}). {@link #code()} is the protocol error code the issuer answered with;
 * an answer without a code this version knows (a proxy's error page) has code {@code internal}, and
 * {@link #problemCode()} holds the code as sent.
 */
public final class AdminException extends IssuerServiceException {
  private static final long serialVersionUID = 1L;
  private final String problemCode;
  private final int status;

  /**
   * @param status the HTTP status, 0 when no answer came
   * @param code the problem code as the issuer sent it, or {@code null}
   */
  public AdminException(int status, String code, String message, Throwable cause) {
    super(errorCode(status, code), message, cause);
    this.status = status;
    this.problemCode = code;
  }

  private static ErrorCode errorCode(int status, String code) {
    ErrorCode known = ErrorCode.fromCode(code);
    if (known != null) {
      return known;
    }
    return status == 0 ? ErrorCode.UNAVAILABLE : ErrorCode.INTERNAL;
  }

  /** The problem code as the issuer sent it ({@code not_found}, ...), or {@code null} when no answer or no code came. */
  public String problemCode() {
    return problemCode;
  }

  /** The HTTP status, or 0 when no answer came. */
  public int status() {
    return status;
  }
}
