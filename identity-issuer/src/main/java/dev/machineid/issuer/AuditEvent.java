package dev.machineid.issuer;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One audit record. Types used: {@code bot.created}, {@code bot.deleted}, {@code token.created},
 * {@code token.deleted}, {@code join}, {@code renew}, {@code heartbeat} (failures only),
 * {@code instance.locked}, {@code lock.created}, {@code lock.removed}. Failures carry the rule that
 * failed in {@code detail.reason} and the code the client saw in {@code detail.code}; secrets never
 * appear (tokens by the prefix of their hash only).
 *
 * @param id unique id
 * @param time when it happened (issuer clock)
 * @param type what happened
 * @param bot the bot concerned, or {@code null}
 * @param instanceId the bot instance concerned, or {@code null}
 * @param outcome {@code success} or {@code failure}
 * @param detail further facts
 */
public record AuditEvent(
    String id,
    Instant time,
    String type,
    String bot,
    String instanceId,
    String outcome,
    Map<String, String> detail) {
  public static final String SUCCESS = "success";
  public static final String FAILURE = "failure";

  public AuditEvent {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(outcome, "outcome");
    detail = Map.copyOf(Objects.requireNonNull(detail, "detail"));
  }

  /** True for a failure record. */
  public boolean failed() {
    return FAILURE.equals(outcome);
  }
}
