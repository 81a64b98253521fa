package dev.machineid.issuer.store;

import dev.machineid.issuer.IssuerStore;
import java.time.Instant;

/**
 * Redeemed challenge nonces: the store a challenge needs to be single-use across replicas. Part of {@link IssuerStore}.
 */
public interface ChallengeStore {
  /**
   * Records a redeemed challenge nonce (unique key) until {@code expiresAt}.
   *
   * @return false if the nonce was already recorded: the challenge was used before
   */
  boolean insertUsedChallenge(String nonce, Instant expiresAt);
}
