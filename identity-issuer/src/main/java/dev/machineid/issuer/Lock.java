package dev.machineid.issuer;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * A lock: while active, joins and authenticated calls that match its target are refused with
 * {@code bot_locked}. Build one with the static factories and pass it to {@link Locks#create(Lock)},
 * which assigns {@link #id()} and {@link #createdAt()} and returns the stored lock.
 *
 * @param id assigned by the issuer ({@code null} before)
 * @param target what is locked
 * @param value the bot name, instance id, token id (hex SHA-256 of the secret), attested identity,
 *     or certificate serial (lower-case hex)
 * @param reason why, for operators
 * @param createdAt assigned by the issuer ({@code null} before)
 * @param expiresAt when the lock stops applying, or {@code null} for never
 */
public record Lock(
    String id, Target target, String value, String reason, Instant createdAt, Instant expiresAt) {
  /** What a lock applies to. */
  public enum Target {
    BOT,
    INSTANCE,
    TOKEN,
    IDENTITY,
    SERIAL;

    /** Lower-case wire form, e.g. {@code instance}. */
    public String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public Lock {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(value, "value");
    Objects.requireNonNull(reason, "reason");
    if (value.isBlank()) {
      throw new IllegalArgumentException("lock target value must not be blank");
    }
  }

  public static Lock bot(String name, String reason) {
    return new Lock(null, Target.BOT, name, reason, null, null);
  }

  public static Lock instance(String instanceId, String reason) {
    return new Lock(null, Target.INSTANCE, instanceId, reason, null, null);
  }

  /** Locks a token by its id as {@link Issuer#tokens()} lists it. */
  public static Lock token(String tokenId, String reason) {
    return new Lock(null, Target.TOKEN, tokenId, reason, null, null);
  }

  /** Locks an attested identity (an AWS ARN, a repository, a service account). */
  public static Lock identity(String attestedIdentity, String reason) {
    return new Lock(null, Target.IDENTITY, attestedIdentity, reason, null, null);
  }

  /**
   * Locks one certificate by its serial, given in hex as tools print it — {@code openssl x509
   * -serial} ({@code 0A1B…}), with colons ({@code 0a:1b:…}), an {@code 0x} prefix, upper or lower
   * case, leading zeros — and stored as the issuer writes serials: lower-case hex without leading
   * zeros.
   *
   * @throws IllegalArgumentException for anything else (see {@link #normaliseSerial})
   */
  public static Lock serial(String serialHex, String reason) {
    return new Lock(null, Target.SERIAL, normaliseSerial(serialHex), reason, null, null);
  }

  /**
   * A certificate serial in the issuer's form: lower-case hex without leading zeros. Accepts hex
   * digits, optionally with an {@code 0x} prefix and with colons or spaces between bytes; a serial
   * is a positive number of at most 20 bytes (RFC 5280).
   *
   * @throws IllegalArgumentException for an empty, zero, non-hex or longer value
   */
  public static String normaliseSerial(String serial) {
    Objects.requireNonNull(serial, "serial");
    String s = serial.strip();
    if (s.startsWith("0x") || s.startsWith("0X")) {
      s = s.substring(2);
    }
    s = s.replace(":", "").replace(" ", "").toLowerCase(Locale.ROOT);
    if (s.isEmpty()
        || !s.matches("[0-9a-f]+")
        || serial.contains("::")
        || serial.strip().endsWith(":")
        || serial.strip().startsWith(":")) {
      throw new IllegalArgumentException(
          "certificate serial '" + printable(serial)
              + "' is not hex; give it as 'openssl x509 -noout -serial' prints it (e.g. 0A1B2C…) or with colons (0a:1b:2c:…)");
    }
    s = s.replaceFirst("^0+", "");
    if (s.isEmpty()) {
      throw new IllegalArgumentException(
          "certificate serial 0 names no certificate; serials are positive");
    }
    if (s.length() > 40) {
      throw new IllegalArgumentException("certificate serial '" + printable(serial)
          + "' is longer than 20 bytes (RFC 5280); it names no certificate");
    }
    return s;
  }

  private static String printable(String s) {
    String t = s.length() > 80 ? s.substring(0, 80) + "…" : s;
    return t.replaceAll("\\p{Cntrl}", "?");
  }

  /** A copy that stops applying at {@code expiry}. */
  public Lock expiringAt(Instant expiry) {
    return new Lock(id, target, value, reason, createdAt, Objects.requireNonNull(expiry, "expiry"));
  }

  /** True while the lock applies. */
  public boolean activeAt(Instant now) {
    return expiresAt == null || now.isBefore(expiresAt);
  }
}
