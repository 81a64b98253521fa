package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.Map;

/** Body of {@code POST /v1/heartbeat}: status the bot instance reports about itself. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record HeartbeatRequest(
    String hostname,
    String version,
    @JsonProperty(required = true) long uptimeSeconds,
    @JsonProperty(required = true) boolean oneShot,
    Map<String, String> outputs) {
  /** @throws IllegalArgumentException naming the field, for a missing or empty required field or a negative uptime */
  public HeartbeatRequest {
    Fields.required(hostname, "hostname");
    Fields.required(version, "version");
    if (uptimeSeconds < 0) {
      throw new IllegalArgumentException("field 'uptime_seconds' must not be negative");
    }
    if (outputs != null) {
      outputs.forEach((k, v) -> {
        if (v == null) {
          throw new IllegalArgumentException("field 'outputs." + k + "' must be a string");
        }
      });
    }
  }
}
