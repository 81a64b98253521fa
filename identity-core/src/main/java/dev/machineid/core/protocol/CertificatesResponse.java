package dev.machineid.core.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import java.time.Instant;
import java.util.List;

/** Answer of {@code POST /v1/certificates}: a chain (X.509 kinds), an OpenSSH certificate (SSH kinds) or a JWT ({@code jwt_svid}). */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
@JsonIgnoreProperties(ignoreUnknown = true)
public record CertificatesResponse(
    List<String> certificateChain,
    String sshCertificate,
    String token,
    Instant notAfter,
    Instant serverTime) {}
