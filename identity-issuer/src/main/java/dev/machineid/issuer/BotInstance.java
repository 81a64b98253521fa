package dev.machineid.issuer;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One running copy of a bot, created by a join and advanced by renewals.
 *
 * @param id the instance id (a UUID) carried in the bot's certificates
 * @param bot the bot's name
 * @param joinMethod how the instance joined
 * @param createdAt when it joined
 * @param initialAuthentication the join
 * @param latestAuthentication the latest join or renewal
 * @param generation the current generation (1 after the join, +1 per renewal)
 * @param latestHeartbeat the latest heartbeat, or {@code null} if none arrived
 * @param locked whether an active lock targets the instance, its bot, its token or its identity
 */
public record BotInstance(
    String id,
    String bot,
    String joinMethod,
    Instant createdAt,
    Authentication initialAuthentication,
    Authentication latestAuthentication,
    long generation,
    Heartbeat latestHeartbeat,
    boolean locked) {
  public BotInstance {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(bot, "bot");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(initialAuthentication, "initialAuthentication");
    Objects.requireNonNull(latestAuthentication, "latestAuthentication");
  }

  /** The latest heartbeat, if one arrived. */
  public Optional<Heartbeat> heartbeat() {
    return Optional.ofNullable(latestHeartbeat);
  }
}
