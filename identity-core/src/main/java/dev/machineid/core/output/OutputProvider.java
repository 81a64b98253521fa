package dev.machineid.core.output;

import java.util.Map;

/** The {@link java.util.ServiceLoader} service that maps a config {@code type:} to an {@link Output}. */
public interface OutputProvider {
  /** The config {@code type:} this provider makes, e.g. {@code identity}. */
  String type();

  /**
   * Makes the output from its config block.
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  Output create(Map<String, Object> settings, Destination destination);
}
