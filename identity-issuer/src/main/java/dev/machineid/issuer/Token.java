package dev.machineid.issuer;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
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
 * @param name the token's plain name for a delegated join method (whose name is no secret;
 *     {@link #id()} is then the hex SHA-256 of the name), or {@code null} for a secret {@code token}
 * @param rules the join method's block of the token resource ({@code spec.<join method>}, e.g.
 *     {@code {allow: [{repository: acme/app}]}}) as JSON-like values; empty for {@code token}
 */
public record Token(
    String id,
    String bot,
    String joinMethod,
    Instant createdAt,
    Instant expiresAt,
    Instant consumedAt,
    String name,
    Map<String, Object> rules) {
  public Token {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(bot, "bot");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(expiresAt, "expiresAt");
    rules = rules == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(rules));
  }

  /** A secret {@code token} (no name, no rules). */
  public Token(
      String id,
      String bot,
      String joinMethod,
      Instant createdAt,
      Instant expiresAt,
      Instant consumedAt) {
    this(id, bot, joinMethod, createdAt, expiresAt, consumedAt, null, Map.of());
  }

  /** This token marked consumed at {@code at}. */
  public Token consumedAt(Instant at) {
    return new Token(id, bot, joinMethod, createdAt, expiresAt, at, name, rules);
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
