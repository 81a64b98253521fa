package dev.machineid.core.internal.renewal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.storage.StoredIdentity;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class StoredIdentitiesTest {
  private static final String PEM =
      "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";

  @Test
  void theIssuersAnswerSurvivesTheStoredFormUnchanged() throws Exception {
    Authority a = new Authority(
        "example.org",
        List.of(PEM),
        List.of(PEM),
        List.of(),
        null,
        List.of(PEM),
        List.of("ssh-ed25519 AAAA user-ca"),
        List.of("ssh-ed25519 AAAA host-ca"),
        Protocol.reader().readTree("{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"k1\"}]}"));
    IdentityResponse wire = new IdentityResponse(
        "web",
        "i-1",
        3,
        List.of(PEM, PEM),
        "ssh-ed25519-cert-v01@openssh.com AAAA bot",
        Instant.parse("2030-01-01T00:00:00Z"),
        Instant.parse("2029-12-31T00:00:00Z"),
        Instant.parse("2026-01-01T00:00:00Z"),
        a);

    StoredIdentity.Issued stored = StoredIdentities.issued(wire);

    assertThat(stored.authorities().jwksJson())
        .isEqualTo("{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"k1\"}]}");
    assertThat(stored.authorities().databaseClientAuthorities()).isEmpty();
    assertThat(stored.authorities().databaseServerAuthorities()).isNull();
    assertThat(StoredIdentities.credentials(stored)).isEqualTo(wire);
  }

  @Test
  void anAnswerWithoutAuthoritiesOrOptionalMembersSurvivesToo() {
    IdentityResponse wire = new IdentityResponse(
        "web",
        "i-1",
        1,
        List.of(PEM),
        null,
        Instant.parse("2030-01-01T00:00:00Z"),
        null,
        null,
        null);
    assertThat(StoredIdentities.credentials(StoredIdentities.issued(wire))).isEqualTo(wire);
  }

  @Test
  void aStoredJwksThatIsNotJsonIsRefusedWithATypedError() {
    StoredIdentity.Issued bad = new StoredIdentity.Issued(
        "web",
        "i-1",
        1,
        List.of(PEM),
        null,
        Instant.EPOCH,
        null,
        null,
        new StoredIdentity.Authorities(
            "example.org", List.of(PEM), null, null, null, null, null, null, "{not json"));
    assertThatThrownBy(() -> StoredIdentities.credentials(bad))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("JWKS");
  }
}
