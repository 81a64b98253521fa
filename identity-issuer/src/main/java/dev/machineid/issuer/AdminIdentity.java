package dev.machineid.issuer;

import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An operator identity allowed on {@code /v1/admin/...}. Its certificates come from the
 * {@code issuer} authority and name it {@code CN=admin-<name>} with the URI SAN
 * {@code spiffe://<trust domain>/admin/<name>}; they carry no bot extension, so the bot endpoints
 * refuse them, and the admin endpoints accept only certificates of an admin recorded in the store.
 *
 * <p>Removing an admin refuses its certificates at once; adding the name again later starts a new
 * record whose {@link #notBefore()} refuses every certificate issued to the removed one, so nothing
 * of a removed admin comes back when its name is reused.
 *
 * @param name admin name, same rule as bot names
 * @param createdAt when it was recorded
 * @param notBefore certificates of this admin signed before this instant are refused, strictly: the
 *     signing instant is the one the issuer marks on every admin certificate, or the certificate's
 *     {@code notBefore} for one made by other tooling;
 *     {@code null} when the name was never removed, so certificates made before it was first
 *     recorded ({@code issuer init}) are accepted
 */
public record AdminIdentity(String name, Instant createdAt, Instant notBefore) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  public AdminIdentity {
    validateName(name);
    Objects.requireNonNull(createdAt, "createdAt");
  }

  /** A newly recorded admin: certificates are bounded by the record only once it is removed. */
  public AdminIdentity(String name, Instant createdAt) {
    this(name, createdAt, null);
  }

  /** @throws IllegalArgumentException when the name breaks the bot-name rule */
  public static String validateName(String name) {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "invalid admin name '" + name
              + "': use 1 to 63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    }
    return name;
  }
}
