package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.util.List;

/** The trust bundle of {@code GET /v1/authority}. Each list may hold several keys during a rotation. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record Authority(
    String trustDomain,
    List<String> x509Authorities,
    List<String> spiffeAuthorities,
    List<String> databaseClientAuthorities,
    List<String> databaseServerAuthorities,
    List<String> kubernetesClientAuthorities,
    List<String> sshUserAuthorities,
    List<String> sshHostAuthorities,
    JsonNode jwks) {}
