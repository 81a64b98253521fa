package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** Body of {@code POST /v1/certificates}: a role-scoped credential for the calling bot. {@code target} holds the kind's own fields (docs/architecture.md §4). */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record CertificatesRequest(
    String kind,
    List<String> roles,
    String publicKey,
    String sshPublicKey,
    String ttl,
    JsonNode target) {
  /** @throws IllegalArgumentException naming the field, for a missing kind or a target that is not an object */
  public CertificatesRequest {
    Fields.required(kind, "kind");
    if (target != null && !target.isNull() && !target.isObject()) {
      throw new IllegalArgumentException("field 'target' must be a JSON object");
    }
  }
}
