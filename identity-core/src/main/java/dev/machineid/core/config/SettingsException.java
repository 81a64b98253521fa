package dev.machineid.core.config;

import dev.machineid.core.ConfigException;
import java.util.Objects;

/**
 * A setting is unknown, missing or has a bad value. {@link #path()} is the key's full path in the
 * configuration, e.g. {@code outputs[1].destination.path}; the message starts with it.
 */
public class SettingsException extends ConfigException {
  private static final long serialVersionUID = 1L;

  /** The key's full path. */
  private final String path;

  /**
   * @param path the key's full path, e.g. {@code outputs[1].destination.path}
   * @param problem what is wrong and what to change, without the path
   */
  public SettingsException(String path, String problem) {
    super(Objects.requireNonNull(path, "path") + ": " + Objects.requireNonNull(problem, "problem"));
    this.path = path;
  }

  public SettingsException(String path, String problem, Throwable cause) {
    super(
        Objects.requireNonNull(path, "path") + ": " + Objects.requireNonNull(problem, "problem"),
        cause);
    this.path = path;
  }

  /** The key's full path, e.g. {@code outputs[1].destination.path}. */
  public String path() {
    return path;
  }
}
