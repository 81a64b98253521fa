package dev.machineid.core.output;

import dev.machineid.core.config.Settings;
import java.util.Map;

/**
 * The {@link java.util.ServiceLoader} service that maps a destination {@code type:} to a {@link
 * Destination}.
 *
 * <p>A provider implements one of the two {@code create} methods: {@link #create(Settings)} (preferred:
 * every key it does not read or declare is then refused with its path and the nearest valid key) or the
 * older {@link #create(Map)}, which must check its keys itself.
 */
public interface DestinationProvider {
  /** The config {@code type:}, e.g. {@code memory} or {@code directory}. */
  String type();

  /**
   * Makes the destination from its config block, read through the view ({@code type} is already read
   * by the caller). The caller refuses keys the provider did not read or {@linkplain Settings#declare
   * declare} once this returns.
   *
   * @throws IllegalArgumentException or {@link dev.machineid.core.config.SettingsException} naming the
   *     setting that is missing or wrong
   */
  default Destination create(Settings settings) {
    return create(settings.asMap());
  }

  /**
   * Makes the destination from its config block as a plain map; by default reads it through {@link
   * #create(Settings)} and refuses any key it did not read.
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  default Destination create(Map<String, Object> settings) {
    Settings view = Settings.of(settings).declare("type");
    Destination d;
    try {
      d = create(view);
      view.refuseUnknown();
    } catch (dev.machineid.core.config.SettingsException e) {
      // this method's contract: a bad setting is an IllegalArgumentException
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    return d;
  }

  /** ServiceLoader provider for {@code type: memory}; it takes no settings. */
  final class Memory implements DestinationProvider {
    /** Called by {@link java.util.ServiceLoader}. */
    public Memory() {}

    @Override
    public String type() {
      return "memory";
    }

    @Override
    public Destination create(Settings settings) {
      return new MemoryDestination();
    }
  }
}
