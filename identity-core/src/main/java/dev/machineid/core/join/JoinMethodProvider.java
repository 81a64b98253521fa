package dev.machineid.core.join;

import java.util.Map;

/**
 * The {@link java.util.ServiceLoader} service that makes {@link JoinMethod}s by name. A third party
 * adds a join method by shipping a provider (plus a verifier on the issuer side).
 */
public interface JoinMethodProvider {
  /** The method's wire name. */
  String name();

  /**
   * Makes the method from its settings (the method's block of the onboarding configuration, plus
   * {@code token}).
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  JoinMethod create(Map<String, Object> settings);
}
