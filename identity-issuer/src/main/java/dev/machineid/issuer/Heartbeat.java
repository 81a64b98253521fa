package dev.machineid.issuer;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * The status a bot instance last reported about itself ({@code POST /v1/heartbeat}).
 *
 * @param receivedAt when the issuer received it
 * @param hostname reported host name
 * @param version reported SDK or agent version
 * @param uptimeSeconds reported uptime
 * @param oneShot whether the bot runs once and exits
 * @param outputs each output's reported health
 */
public record Heartbeat(
    Instant receivedAt,
    String hostname,
    String version,
    long uptimeSeconds,
    boolean oneShot,
    Map<String, String> outputs) {
  public Heartbeat {
    Objects.requireNonNull(receivedAt, "receivedAt");
    outputs = Map.copyOf(Objects.requireNonNull(outputs, "outputs"));
  }
}
