package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/** Body of {@code POST /v1/join/challenge}. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record ChallengeRequest(String joinMethod, String token, String publicKey) {
  /** @throws IllegalArgumentException naming the field, for a missing or empty required field */
  public ChallengeRequest {
    Fields.required(joinMethod, "join_method");
    Fields.required(publicKey, "public_key");
  }
}
