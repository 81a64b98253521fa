package dev.machineid.issuer.admin;

/** An admin call failed: the server's problem code and detail, or a transport failure (code {@code null}). */
public final class AdminException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String code;
  private final int status;

  public AdminException(int status, String code, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
    this.code = code;
  }

  /** The problem code ({@code not_found}, ...) or {@code null} when no answer came. */
  public String code() {
    return code;
  }

  /** The HTTP status, or 0 when no answer came. */
  public int status() {
    return status;
  }
}
