package dev.machineid.issuer;

import java.time.Instant;
import java.util.Objects;

/**
 * A join token as the issuer stores and lists it. The secret itself is never stored or listed:
 * {@link #id()} is the lower-case hex SHA-256 of the secret.
 *
 * @param id hex SHA-256 of the token secret
 * @param bot the bot a join with this token becomes
 * @param joinMethod the join method the token is for ({@code token})
 * @param createdAt creation time
 * @param expiresAt the token cannot be used from this instant on
 * @param consumedAt when a join consumed it, or {@code null} while unused
 */
public record Token(String id, String bot, String joinMethod, Instant createdAt, Instant expiresAt, Instant consumedAt) {
  public Token {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(bot, "bot");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
  }

  /** True once a join has used the token. */
  public boolean consumed() {
    return consumedAt != null;
  }

  /** A short form of the id for logs and listings. */
  public String shortId() {
    return id.substring(0, Math.min(12, id.length()));
  }
}
