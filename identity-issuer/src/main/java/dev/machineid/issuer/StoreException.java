package dev.machineid.issuer;

/** The store could not do what was asked: the database is unreachable, refused, or failed. */
public final class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
