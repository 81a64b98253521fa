package dev.machineid.issuer.join;

import java.util.Objects;

/**
 * The result of one attempt to consume a join token, decided by a single atomic store operation.
 *
 * @param outcome what happened
 * @param tokenId hex SHA-256 of the token secret
 * @param botName the token's bot when the token exists, else {@code null}
 */
public record TokenConsumption(Outcome outcome, String tokenId, String botName) {
  /** What one consumption attempt found. Only {@link #CONSUMED} changed the token. */
  public enum Outcome {
    /** This call consumed the token: the caller may join. */
    CONSUMED,
    /** The token exists but its expiry has passed. */
    EXPIRED,
    /** Another join already consumed it. */
    ALREADY_CONSUMED,
    /** The token exists but is for another join method. */
    WRONG_METHOD,
    /** No such token. */
    MISSING
  }

  public TokenConsumption {
    Objects.requireNonNull(outcome, "outcome");
    Objects.requireNonNull(tokenId, "tokenId");
  }
}
