package dev.machineid.core;

/**
 * The issuer answered, but the SDK refused the answer: a certificate that does not chain to an
 * authority it already trusts, is not valid now, lives longer than asked, names another bot or
 * trust domain, or carries the wrong generation. A refused answer changes nothing: the current
 * identity, its stored copy and the trust bundle stay as they were, and the attempt is retried like
 * any other failed renewal.
 */
public class AnswerRefusedException extends IdentityException {
  private static final long serialVersionUID = 1L;

  public AnswerRefusedException(String message) {
    super(message);
  }

  public AnswerRefusedException(String message, Throwable cause) {
    super(message, cause);
  }
}
