package dev.machineid.issuer;

import dev.machineid.issuer.IssuerStore.InstanceRecord;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One running copy of a bot, created by a join and advanced by renewals: the public view of the
 * instance as the store keeps it ({@link InstanceRecord}, the one model of an instance), with
 * whether a lock applies to it.
 *
 * <p>The view shows what an operator reads about an instance and nothing that authorises it: the
 * stored key hash, credentials, serial, token and attested identity stay in the store's record.
 * Equality, hash code and {@link #toString()} cover the accessors below only.
 */
public final class BotInstance {
  private final InstanceRecord stored;
  private final boolean locked;

  private BotInstance(InstanceRecord stored, boolean locked) {
    this.stored = Objects.requireNonNull(stored, "stored");
    this.locked = locked;
  }

  /**
   * The view of a stored instance.
   *
   * @param stored the instance as the store returned it
   * @param locked whether an active lock targets the instance, its bot, its current serial, its
   *     token or its identity
   */
  public static BotInstance of(InstanceRecord stored, boolean locked) {
    return new BotInstance(stored, locked);
  }

  /** The instance id (a UUID) carried in the bot's certificates. */
  public String id() {
    return stored.id();
  }

  /** The bot's name. */
  public String bot() {
    return stored.bot();
  }

  /** How the instance joined. */
  public String joinMethod() {
    return stored.joinMethod();
  }

  /** When it joined. */
  public Instant createdAt() {
    return stored.createdAt();
  }

  /** The join. */
  public Authentication initialAuthentication() {
    return stored.initialAuthentication();
  }

  /** The latest join or renewal. */
  public Authentication latestAuthentication() {
    return stored.latestAuthentication();
  }

  /** The current generation (1 after the join, +1 per renewal). */
  public long generation() {
    return stored.generation();
  }

  /** The latest heartbeat, or {@code null} if none arrived. */
  public Heartbeat latestHeartbeat() {
    return stored.latestHeartbeat();
  }

  /** Whether an active lock targets the instance, its bot, its token or its identity. */
  public boolean locked() {
    return locked;
  }

  /** The latest heartbeat, if one arrived. */
  public Optional<Heartbeat> heartbeat() {
    return Optional.ofNullable(stored.latestHeartbeat());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BotInstance b
        && id().equals(b.id())
        && bot().equals(b.bot())
        && joinMethod().equals(b.joinMethod())
        && createdAt().equals(b.createdAt())
        && initialAuthentication().equals(b.initialAuthentication())
        && latestAuthentication().equals(b.latestAuthentication())
        && generation() == b.generation()
        && Objects.equals(latestHeartbeat(), b.latestHeartbeat())
        && locked == b.locked;
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        id(),
        bot(),
        joinMethod(),
        createdAt(),
        initialAuthentication(),
        latestAuthentication(),
        generation(),
        latestHeartbeat(),
        locked);
  }

  @Override
  public String toString() {
    return "BotInstance[id=" + id() + ", bot=" + bot() + ", joinMethod=" + joinMethod()
        + ", createdAt=" + createdAt()
        + ", initialAuthentication=" + initialAuthentication() + ", latestAuthentication="
        + latestAuthentication()
        + ", generation=" + generation() + ", latestHeartbeat=" + latestHeartbeat() + ", locked="
        + locked + "]";
  }
}
