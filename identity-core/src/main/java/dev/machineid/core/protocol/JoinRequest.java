package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;

/** Body of {@code POST /v1/join}. {@code proof} is the join method's own JSON object. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record JoinRequest(
    String joinMethod,
    String token,
    String challenge,
    String challengeSignature,
    JsonNode proof,
    String publicKey,
    String sshPublicKey,
    String ttl) {
  /** @throws IllegalArgumentException naming the field, for a missing or empty required field or a proof that is not an object */
  public JoinRequest {
    Fields.required(joinMethod, "join_method");
    Fields.required(challenge, "challenge");
    Fields.required(challengeSignature, "challenge_signature");
    Fields.required(publicKey, "public_key");
    if (proof != null && !proof.isNull() && !proof.isObject()) {
      throw new IllegalArgumentException("field 'proof' must be a JSON object");
    }
  }
}
