package dev.machineid.core;

/** Root of every exception the SDK throws. Unchecked; messages say what failed and what to change. */
public class IdentityException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public IdentityException(String message) {
    super(message);
  }

  public IdentityException(String message, Throwable cause) {
    super(message, cause);
  }
}
