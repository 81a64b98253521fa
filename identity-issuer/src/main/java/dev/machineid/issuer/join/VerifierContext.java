package dev.machineid.issuer.join;

import java.time.Clock;
import java.util.Objects;

/**
 * What the issuer gives a verifier when creating it.
 *
 * @param trustDomain the issuer's SPIFFE trust domain
 * @param clock the issuer's clock; verifiers use it for every time decision
 */
public record VerifierContext(String trustDomain, Clock clock) {
  public VerifierContext {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(clock, "clock");
  }
}
