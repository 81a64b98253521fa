package dev.machineid.issuer;

import dev.machineid.core.ErrorCode;
import java.util.Objects;

/**
 * The root of the issuer's exceptions: each carries the protocol error {@link #code()} a client is
 * (or, for {@link dev.machineid.issuer.admin.AdminException}, was) answered with, so one
 * {@code catch} sees every failure of the issuer and can tell them apart by code. The message is
 * the operator-facing reason; it never holds secrets.
 *
 * <p>Subtypes: a refused protocol or admin call (internal), a join verifier's refusal
 * ({@link dev.machineid.issuer.join.JoinRejectedException}), a store failure
 * ({@link StoreException}), refused token rules ({@link InvalidTokenRulesException}), a refused
 * audit prune ({@link AuditRetentionRefusedException}) and an admin
 * client's failed call ({@link dev.machineid.issuer.admin.AdminException}).
 */
public abstract class IssuerServiceException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final ErrorCode code;

  protected IssuerServiceException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** For failures whose stack trace says nothing (a refused request): none is recorded. */
  protected IssuerServiceException(
      ErrorCode code, String message, Throwable cause, boolean writableStackTrace) {
    super(message, cause, false, writableStackTrace);
    this.code = Objects.requireNonNull(code, "code");
  }

  /** The protocol error code, such as {@code proof_rejected}; never {@code null}. */
  public ErrorCode code() {
    return code;
  }
}
