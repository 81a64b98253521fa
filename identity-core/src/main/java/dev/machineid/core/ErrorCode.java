package dev.machineid.core;

import java.util.Locale;

/** The stable error codes of protocol v1 (the {@code code} member of a problem document). */
public enum ErrorCode {
  MALFORMED_REQUEST(400),
  REQUEST_TOO_LARGE(413),
  NOT_FOUND(404),
  METHOD_NOT_ALLOWED(405),
  UNAUTHENTICATED(401),
  UNKNOWN_JOIN_METHOD(400),
  CHALLENGE_INVALID(401),
  TOKEN_EXPIRED(401),
  TOKEN_CONSUMED(401),
  PROOF_REJECTED(401),
  GENERATION_MISMATCH(409),
  BOT_LOCKED(403),
  ROLE_DENIED(403),
  TTL_EXCEEDED(400),
  RATE_LIMITED(429),
  /** A POST whose {@code Content-Type} is missing or not {@code application/json}. */
  UNSUPPORTED_MEDIA_TYPE(415),
  /**
   * The issuer cannot reach its store (database down or out of connections): retry after the
   * {@code Retry-After} seconds. Nothing was changed.
   */
  UNAVAILABLE(503),
  /** Not a client error: the issuer failed. Never used for bad input. */
  INTERNAL(500);

  private final int status;

  ErrorCode(int status) {
    this.status = status;
  }

  public int status() {
    return status;
  }

  /** The wire form, e.g. {@code token_consumed}. */
  public String code() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a wire code; unknown codes map to {@code null}. */
  public static ErrorCode fromCode(String code) {
    if (code == null) {
      return null;
    }
    for (ErrorCode c : values()) {
      if (c.code().equals(code)) {
        return c;
      }
    }
    return null;
  }
}
