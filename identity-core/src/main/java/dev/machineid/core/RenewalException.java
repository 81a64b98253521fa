package dev.machineid.core;

/** A renewal failed, or {@code start()} timed out; the last underlying failure is the cause. */
public class RenewalException extends IdentityException {
  private static final long serialVersionUID = 1L;

  public RenewalException(String message) {
    super(message);
  }

  public RenewalException(String message, Throwable cause) {
    super(message, cause);
  }
}
