package dev.machineid.issuer;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A bot: a named machine identity with roles and traits. Its certificates name it
 * {@code CN=bot-<name>} and {@code spiffe://<trust domain>/bot/<name>}.
 *
 * @param name lower-case name matching {@code [a-z0-9][a-z0-9._-]{0,62}}
 * @param roles role names granted to the bot
 * @param traits trait values (for role templates such as {@code {{internal.logins}}})
 * @param createdAt when the operator created the bot
 */
public record Bot(
    String name, List<String> roles, Map<String, List<String>> traits, Instant createdAt) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  public Bot {
    validateName(name);
    roles = List.copyOf(Objects.requireNonNull(roles, "roles"));
    Objects.requireNonNull(traits, "traits");
    Map<String, List<String>> copy = new java.util.LinkedHashMap<>();
    traits.forEach((k, v) -> copy.put(
        Objects.requireNonNull(k, "trait name"),
        List.copyOf(Objects.requireNonNull(v, "trait values"))));
    traits = java.util.Collections.unmodifiableMap(copy);
    Objects.requireNonNull(createdAt, "createdAt");
  }

  /**
   * Checks a bot name.
   *
   * @throws IllegalArgumentException naming the rule when the name does not match it
   */
  public static String validateName(String name) {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "invalid bot name '" + name
              + "': use 1 to 63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    }
    return name;
  }
}
