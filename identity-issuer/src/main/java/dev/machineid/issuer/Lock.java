package dev.machineid.issuer;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;

/**
 * A lock: while active, joins and authenticated calls that match its target are refused with
 * {@code bot_locked}. Build one with the static factories and pass it to {@link Issuer#lock(Lock)},
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
public record Lock(String id, Target target, String value, String reason, Instant createdAt, Instant expiresAt) {
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

  /** Locks one certificate by its serial in lower-case hex. */
  public static Lock serial(String serialHex, String reason) {
    return new Lock(null, Target.SERIAL, serialHex.toLowerCase(Locale.ROOT), reason, null, null);
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
