package dev.machineid.issuer.join;

import dev.machineid.issuer.Token;
import java.time.Clock;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the issuer gives a verifier when creating it.
 *
 * @param trustDomain the issuer's SPIFFE trust domain
 * @param clock the issuer's clock; verifiers use it for every time decision
 * @param settings this join method's settings from {@code Issuer.Builder.verifierSettings} (empty if
 *     none were given), as JSON-like values
 * @param tokens finds a token resource by the name a client sent (for delegated methods the plain
 *     name, whose hex SHA-256 is the token id), so that a verifier can read the token's rules
 */
public record VerifierContext(String trustDomain, Clock clock, Map<String, Object> settings, Function<String, Optional<Token>> tokens) {
  public VerifierContext {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(clock, "clock");
    settings = settings == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(settings));
    Objects.requireNonNull(tokens, "tokens");
  }

  /** A context without settings or token look-up, for verifiers that need neither. */
  public VerifierContext(String trustDomain, Clock clock) {
    this(trustDomain, clock, Map.of(), name -> Optional.empty());
  }

  /** This context with one join method's settings. */
  public VerifierContext withSettings(Map<String, Object> methodSettings) {
    return new VerifierContext(trustDomain, clock, methodSettings, tokens);
  }
}
