package dev.machineid.core;

/** The configuration is incomplete or contradictory; the message names the setting to change. */
public class ConfigException extends IdentityException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
