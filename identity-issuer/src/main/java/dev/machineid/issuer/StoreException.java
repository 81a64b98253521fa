package dev.machineid.issuer;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.internal.StoreOutage;

/**
 * The store could not do what was asked: the database is unreachable, refused, or failed. Its
 * {@link #code()} is {@code unavailable} when the database cannot be reached or has no connection
 * to spare (a call may be retried), {@code internal} otherwise.
 */
public final class StoreException extends IssuerServiceException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message, Throwable cause) {
    super(StoreOutage.is(cause) ? ErrorCode.UNAVAILABLE : ErrorCode.INTERNAL, message, cause);
  }
}
