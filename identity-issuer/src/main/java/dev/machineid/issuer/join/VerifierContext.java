package dev.machineid.issuer.join;

import dev.machineid.core.config.Settings;
import dev.machineid.issuer.Token;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * What the issuer gives a verifier when creating it: the trust domain, the clock, this join method's
 * settings and a token look-up.
 *
 * <p>A verifier reads its settings through {@link #settingsView()}, the same typed view every
 * provider of the SDK reads its block through: once the verifier is made, the issuer refuses every
 * key it did not read or {@linkplain Settings#declare declare}, naming the key's path
 * ({@code join_methods.ec2.max_instance_ag}) and the nearest valid key.
 */
public final class VerifierContext {
  private final String trustDomain;
  private final Clock clock;
  private final Settings settings;
  private final Function<String, Optional<Token>> tokens;

  /**
   * @param trustDomain the issuer's SPIFFE trust domain
   * @param clock the issuer's clock; verifiers use it for every time decision
   * @param settings this join method's settings from {@code Issuer.Builder.verifierSettings} (empty if
   *     none were given), as JSON-like values
   * @param tokens finds a token resource by the name a client sent (for delegated methods the plain
   *     name, whose hex SHA-256 is the token id), so that a verifier can read the token's rules
   */
  public VerifierContext(
      String trustDomain,
      Clock clock,
      Map<String, Object> settings,
      Function<String, Optional<Token>> tokens) {
    this(trustDomain, clock, Settings.of(settings == null ? Map.of() : settings), tokens);
  }

  private VerifierContext(
      String trustDomain,
      Clock clock,
      Settings settings,
      Function<String, Optional<Token>> tokens) {
    this.trustDomain = Objects.requireNonNull(trustDomain, "trustDomain");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.tokens = Objects.requireNonNull(tokens, "tokens");
  }

  /** A context without settings or token look-up, for verifiers that need neither. */
  public VerifierContext(String trustDomain, Clock clock) {
    this(trustDomain, clock, Map.of(), name -> Optional.empty());
  }

  /** The issuer's SPIFFE trust domain. */
  public String trustDomain() {
    return trustDomain;
  }

  /** The issuer's clock; verifiers use it for every time decision. */
  public Clock clock() {
    return clock;
  }

  /** Finds a token resource by the name a client sent. */
  public Function<String, Optional<Token>> tokens() {
    return tokens;
  }

  /** This join method's settings, read by key with typed accessors; keys not read or declared are refused. */
  public Settings settingsView() {
    return settings;
  }

  /**
   * This join method's settings as a plain map, for verifiers that check their own keys: every key is
   * then taken as known.
   */
  public Map<String, Object> settings() {
    return settings.asMap();
  }

  /** This context with one join method's settings. */
  public VerifierContext withSettings(Map<String, Object> methodSettings) {
    return withSettings(Settings.of(methodSettings == null ? Map.of() : methodSettings));
  }

  /** This context with one join method's settings view, e.g. {@code Settings.of("join_methods.iam", values)}. */
  public VerifierContext withSettings(Settings methodSettings) {
    return new VerifierContext(trustDomain, clock, methodSettings, tokens);
  }

  @Override
  public String toString() {
    return "VerifierContext[" + trustDomain + ", " + settings + "]";
  }
}
