package dev.machineid.issuer;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The issuer's join tokens ({@link Issuer#tokens()}). Each change commits with its audit event.
 * The Java API and the admin HTTP API ({@code /v1/admin/tokens}) call the same service.
 * Implemented by the issuer; not for implementing.
 */
public interface Tokens {

  /**
   * A token made by {@link #create(String, String, String, Instant, Map)}.
   *
   * @param name the secret for {@code token} (shown once), the plain name for delegated methods
   * @param token the stored token
   */
  record Created(String name, Token token) {}

  /**
   * Creates a single-use {@code token} join token for a bot.
   *
   * @return the secret (32 hex digits, 128 random bits); only its hash is stored
   * @throws IllegalArgumentException if the bot does not exist or the TTL is not positive
   */
  String create(String botName, Duration ttl);

  /**
   * Creates a join token from a token resource (docs/architecture.md §9). For {@code token} the
   * name is the secret: a given one must have at least 16 characters, and none makes a random one.
   * Delegated methods need a name and, in {@code rules.allow}, at least one identifying rule per
   * entry.
   *
   * @param name the resource's {@code metadata.name}, or {@code null} for a random secret
   * @param rules the {@code spec.<join method>} block; empty for {@code token}
   * @throws IllegalArgumentException for an unknown bot or join method, a past expiry, missing
   *     identifying rules or a short secret
   * @throws IllegalStateException if a token of that name exists
   */
  Created create(
      String name, String botName, String joinMethod, Instant expiresAt, Map<String, Object> rules);

  /** Tokens, without secrets: {@link Token#id()} is the hex SHA-256 of the secret. */
  List<Token> list();

  /**
   * Deletes a token given its id (as {@link #list()} lists it) or its secret.
   *
   * @return false if there was no such token
   */
  boolean delete(String idOrSecret);
}
