package dev.machineid.issuer;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One authentication of a bot instance: its join, or a renewal.
 *
 * @param time when the issuer accepted it
 * @param remoteAddress the client's address as the issuer saw it
 * @param joinMethod the join method of the instance
 * @param generation the generation issued by this authentication
 * @param metadata what the join method attested (empty for renewals)
 */
public record Authentication(
    Instant time,
    String remoteAddress,
    String joinMethod,
    long generation,
    Map<String, String> metadata) {
  public Authentication {
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(remoteAddress, "remoteAddress");
    Objects.requireNonNull(joinMethod, "joinMethod");
    metadata = Map.copyOf(Objects.requireNonNull(metadata, "metadata"));
  }
}
