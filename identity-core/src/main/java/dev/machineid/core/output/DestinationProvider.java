package dev.machineid.core.output;

import java.util.Map;

/** The {@link java.util.ServiceLoader} service that maps a destination {@code type:} to a {@link Destination}. */
public interface DestinationProvider {
  /** The config {@code type:}, e.g. {@code memory} or {@code directory}. */
  String type();

  /**
   * Makes the destination from its config block.
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  Destination create(Map<String, Object> settings);

  /** ServiceLoader provider for {@code type: memory}. */
  final class Memory implements DestinationProvider {
    @Override
    public String type() {
      return "memory";
    }

    @Override
    public Destination create(Map<String, Object> settings) {
      return new MemoryDestination();
    }
  }
}
