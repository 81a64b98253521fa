package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.ssh.SshCertificateAuthority;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code issuer sign}: target certificates for database servers and SSH hosts. */
class IssuerSignTest {
  private Issuer issuer;
  private ProtocolClient admin;

  private void start(Issuer.Builder b) {
    issuer = b.build().start();
    KeyPair keys = ProtocolClient.ec();
    X509Certificate cert =
        issuer.admins().issueCertificate("ops", keys.getPublic(), Duration.ofHours(1));
    admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), keys.getPrivate(), new X509Certificate[] {cert
        });
  }

  @AfterEach
  void stop() {
    if (issuer != null) {
      issuer.close();
    }
  }

  private ProtocolClient.Reply sign(String kind, List<String> hosts, String ttl) {
    ObjectNode req = ProtocolClient.object().put("kind", kind);
    hosts.forEach(req.putArray("host_names")::add);
    if (ttl != null) {
      req.put("ttl", ttl);
    }
    if (kind.equals("ssh_host")) {
      req.put("ssh_public_key", sshKey());
    } else {
      req.put("public_key", Pem.encode(ProtocolClient.ec().getPublic()));
    }
    return admin.post("/v1/admin/sign", req);
  }

  private static String sshKey() {
    return dev.machineid.core.protocol.SshPublicKeys.authorizedKey(
        ProtocolClient.ed25519().getPublic());
  }

  @Test
  void issuerSignRefusesInvalidNames() {
    start(Issuer.builder());
    int before = issuer.audit().events().size();
    for (String kind : List.of("database_server", "ssh_host")) {
      for (String bad : List.of(
          "*",
          "*.example.com",
          "db 1.example.com",
          "db1,db2",
          "dbé.example.com",
          "db\n1",
          "-db.example.com",
          "999.1.1.1",
          "a..b",
          "")) {
        ProtocolClient.Reply r = sign(kind, List.of("db.example.com", bad), "24h");
        assertThat(r.status()).as(kind + " '" + bad + "': " + r).isEqualTo(400);
        assertThat(r.code()).isEqualTo("malformed_request");
      }
    }
    assertThat(issuer.audit().events()).hasSize(before);
    assertThat(sign("database_server", List.of("db-1.example.com", "10.0.0.5", "::1"), "24h")
            .status())
        .isEqualTo(200);
    assertThat(sign("ssh_host", List.of("db-1.example.com", "10.0.0.5"), "24h").status())
        .isEqualTo(200);
  }

  @Test
  void issuerSignLifetimeIsBoundedByConfiguration() {
    start(Issuer.builder().signMaxTtl(Duration.ofDays(10)));
    for (String kind : List.of("database_server", "ssh_host")) {
      ProtocolClient.Reply tooLong = sign(kind, List.of("db.example.com"), "241h");
      assertThat(tooLong.status()).as(tooLong.toString()).isEqualTo(400);
      assertThat(tooLong.code()).isEqualTo("ttl_exceeded");
      assertThat(sign(kind, List.of("db.example.com"), "240h").status()).isEqualTo(200);
    }
    // without a ttl: 30 days, capped by the configured maximum
    ProtocolClient.Reply dflt = sign("database_server", List.of("db.example.com"), null);
    X509Certificate leaf =
        Pem.certificate(dflt.json().path("certificate_chain").get(0).asText());
    assertThat(
            Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
        .isLessThanOrEqualTo(Duration.ofDays(10).plusMinutes(1));
  }

  @Test
  void issuerSignDefaultsToNinetyDaysAtMost() {
    start(Issuer.builder());
    assertThat(sign("database_server", List.of("db.example.com"), "9528h").code())
        .isEqualTo("ttl_exceeded");
    assertThat(sign("database_server", List.of("db.example.com"), "2160h").status())
        .isEqualTo(200);
  }

  @Test
  void sshHostSigningAuditsTheSerial() throws Exception {
    start(Issuer.builder());
    ProtocolClient.Reply r = sign("ssh_host", List.of("db.example.com"), "24h");
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    long serial = SshCertificateAuthority.describe(
            r.json().path("ssh_certificate").asText())
        .serial();
    AuditEvent e = issuer.audit().events().get(issuer.audit().events().size() - 1);
    assertThat(e.type()).isEqualTo("certificate.signed");
    assertThat(e.detail())
        .containsEntry("kind", "ssh_host")
        .containsEntry("serial", Long.toUnsignedString(serial))
        .containsEntry("subject", "db.example.com");
  }
}
