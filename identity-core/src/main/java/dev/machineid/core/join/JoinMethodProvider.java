package dev.machineid.core.join;

import dev.machineid.core.config.Settings;
import java.util.Map;

/**
 * The {@link java.util.ServiceLoader} service that makes {@link JoinMethod}s by name. A third party
 * adds a join method by shipping a provider (plus a verifier on the issuer side).
 *
 * <p>A provider implements one of the two {@code create} methods: {@link #create(Settings)} (preferred:
 * every key the provider does not read or declare is then refused with its path and the nearest valid
 * key) or the older {@link #create(Map)}, which receives every key and must check them itself.
 */
public interface JoinMethodProvider {
  /** The method's wire name. */
  String name();

  /**
   * Makes the method from its settings (the method's block of the onboarding configuration, plus
   * {@code token}), read through the view. The caller refuses keys the provider did not read or
   * {@linkplain Settings#declare declare} once this returns.
   *
   * @throws IllegalArgumentException or {@link dev.machineid.core.config.SettingsException} naming the
   *     setting that is missing or wrong
   */
  default JoinMethod create(Settings settings) {
    return create(settings.asMap());
  }

  /**
   * Makes the method from its settings as a plain map; by default reads them through {@link
   * #create(Settings)} and refuses any key it did not read (as an {@code IllegalArgumentException}).
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  default JoinMethod create(Map<String, Object> settings) {
    Settings view = Settings.of(settings);
    JoinMethod method;
    try {
      method = create(view);
      view.refuseUnknown();
    } catch (dev.machineid.core.config.SettingsException e) {
      // this method's contract: a bad setting is an IllegalArgumentException
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    return method;
  }
}
