package dev.machineid.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * A point-in-time report of a {@link MachineIdentity}.
 *
 * @param state where the identity stands
 * @param lastError the last renewal or join failure, or {@code null}
 * @param consecutiveFailures failed attempts since the last success
 * @param nextRenewal when the next attempt is planned, or {@code null}
 * @param expiry the current certificate's not-after, or {@code null} before the first identity
 * @param clockOffset the issuer's clock minus ours, as measured at the last issuance
 */
public record Health(
    State state,
    String lastError,
    int consecutiveFailures,
    Instant nextRenewal,
    Instant expiry,
    Duration clockOffset) {

  public enum State {
    /** Joining; no identity yet. */
    STARTING,
    /** A valid identity, and the last renewal succeeded. */
    HEALTHY,
    /** Renewals are failing, but the current identity is still valid. */
    DEGRADED,
    /** The identity expired; nothing is served. */
    EXPIRED,
    /** Closed by the application. */
    CLOSED
  }

  public Optional<String> lastErrorMessage() {
    return Optional.ofNullable(lastError);
  }

  /** True while a valid identity is served (HEALTHY or DEGRADED). */
  public boolean isServing() {
    return state == State.HEALTHY || state == State.DEGRADED;
  }
}
