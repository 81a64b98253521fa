package dev.machineid.core.output;

import dev.machineid.core.config.Settings;
import java.util.Map;

/**
 * The {@link java.util.ServiceLoader} service that maps a config {@code type:} to an {@link Output}.
 *
 * <p>A provider implements one of the two {@code create} methods: {@link #create(Settings,
 * Destination)} (preferred: every key it does not read or declare is then refused with its path and the
 * nearest valid key) or the older {@link #create(Map, Destination)}, which must check its keys itself.
 */
public interface OutputProvider {
  /** The config {@code type:} this provider makes, e.g. {@code identity}. */
  String type();

  /**
   * Makes the output from its config block, read through the view ({@code type} and {@code
   * destination} are already read by the caller). The caller refuses keys the provider did not read
   * or {@linkplain Settings#declare declare} once this returns.
   *
   * @throws IllegalArgumentException or {@link dev.machineid.core.config.SettingsException} naming the
   *     setting that is missing or wrong
   */
  default Output create(Settings settings, Destination destination) {
    return create(settings.asMap(), destination);
  }

  /**
   * Makes the output from its config block as a plain map; by default reads it through {@link
   * #create(Settings, Destination)} and refuses any key it did not read.
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  default Output create(Map<String, Object> settings, Destination destination) {
    Settings view = Settings.of(settings).declare("type", "destination");
    Output output;
    try {
      output = create(view, destination);
      view.refuseUnknown();
    } catch (dev.machineid.core.config.SettingsException e) {
      // this method's contract: a bad setting is an IllegalArgumentException
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    return output;
  }
}
