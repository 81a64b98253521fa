package dev.machineid.core.join;

import dev.machineid.core.protocol.ChallengeId;
import java.net.URI;
import java.time.Clock;
import java.util.Objects;

/**
 * What a join method may use to make its proof.
 *
 * @param challenge the issuer's challenge for this join
 * @param issuer the issuer's address (its audience for platform tokens)
 * @param clock the SDK's clock
 */
public record JoinContext(String challenge, URI issuer, Clock clock) {
  public JoinContext {
    Objects.requireNonNull(challenge, "challenge");
    Objects.requireNonNull(issuer, "issuer");
    Objects.requireNonNull(clock, "clock");
  }

  /** The challenge id a platform proof carries: first 22 chars of base64url(SHA-256(challenge)). */
  public String challengeId() {
    return ChallengeId.of(challenge);
  }
}
