package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.time.Instant;
import java.util.List;

/** Answer of {@code /v1/join} and {@code /v1/renew}: the bot identity, leaf first. */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record IdentityResponse(
    String bot,
    String instanceId,
    long generation,
    List<String> certificateChain,
    String sshCertificate,
    Instant notAfter,
    Instant renewAfter,
    Instant serverTime,
    Authority authority) {}
