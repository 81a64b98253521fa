package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/** Body of {@code POST /v1/renew}: the generation the presented certificate was issued at, and the new keys. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record RenewRequest(
    @JsonProperty(required = true) long generation,
    String publicKey,
    String sshPublicKey,
    String ttl) {
  /** @throws IllegalArgumentException naming the field, for a missing or empty required field */
  public RenewRequest {
    Fields.required(publicKey, "public_key");
  }
}
