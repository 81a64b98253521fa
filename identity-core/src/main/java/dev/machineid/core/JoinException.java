package dev.machineid.core;

/** Joining the issuer failed: the proof could not be made, or the issuer refused it. */
public class JoinException extends IdentityException {
  private static final long serialVersionUID = 1L;

  public JoinException(String message) {
    super(message);
  }

  public JoinException(String message, Throwable cause) {
    super(message, cause);
  }
}
