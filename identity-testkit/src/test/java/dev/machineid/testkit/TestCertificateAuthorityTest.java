package dev.machineid.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class TestCertificateAuthorityTest {

  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final Instant NOW = Instant.parse("2030-01-01T00:00:00Z");

  @Test
  void caCertificateIsASelfSignedP256AuthorityNamedAfterItsCommonName() throws Exception {
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("test root")) {
      X509Certificate root = ca.certificate();

      assertThat(root.getSubjectX500Principal().getName()).isEqualTo("CN=test root");
      assertThat(root.getIssuerX500Principal()).isEqualTo(root.getSubjectX500Principal());
      assertThat(root.getBasicConstraints()).isGreaterThanOrEqualTo(0);
      assertThat(root.getKeyUsage()[5]).as("keyCertSign").isTrue();
      assertThat(root.getPublicKey().getAlgorithm()).isEqualTo("EC");
      assertThat(root.getSigAlgName()).isEqualTo("SHA256withECDSA");
      root.verify(root.getPublicKey());
    }
  }

  @Test
  void serverCertificateHasIpAndDnsNamesServerAuthAndOneDayOfValidityBackdatedOneMinute()
      throws Exception {
    try (TestCertificateAuthority ca =
        TestCertificateAuthority.create("root", Clock.fixed(NOW, ZoneOffset.UTC))) {
      TestCertificateAuthority.Issued server =
          ca.issueServerCertificate(List.of("127.0.0.1", "localhost", "::1", "api.example.test"));
      X509Certificate leaf = server.certificate();

      assertThat(leaf.getSubjectAlternativeNames())
          .containsExactlyInAnyOrder(
              List.of(7, "127.0.0.1"),
              List.of(2, "localhost"),
              List.of(7, "0:0:0:0:0:0:0:1"),
              List.of(2, "api.example.test"));
      assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=127.0.0.1");
      assertThat(leaf.getExtendedKeyUsage()).containsExactly(SERVER_AUTH);
      assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
      assertThat(leaf.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofMinutes(1)));
      assertThat(leaf.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(1)));
      assertThat(server.chain()).containsExactly(leaf, ca.certificate());
      assertThat(server.privateKey().getAlgorithm()).isEqualTo("EC");
      leaf.verify(ca.certificate().getPublicKey());
    }
  }

  @Test
  void issuedServerChainIsTrustedByTheCasTrustManager() {
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("root")) {
      TestCertificateAuthority.Issued server = ca.issueServerCertificate(List.of("127.0.0.1"));

      assertThatCode(() -> ca.trustManager().checkServerTrusted(server.chainArray(), "ECDHE_ECDSA"))
          .doesNotThrowAnyException();
    }
  }

  @Test
  void clientCertificateHasClientAuthAndTheRequestedLifetime() throws Exception {
    try (TestCertificateAuthority ca =
        TestCertificateAuthority.create("root", Clock.fixed(NOW, ZoneOffset.UTC))) {
      TestCertificateAuthority.Issued client =
          ca.issueClientCertificate("bot-1", Duration.ofMinutes(20));

      assertThat(client.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=bot-1");
      assertThat(client.certificate().getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
      assertThat(client.certificate().getNotAfter().toInstant())
          .isEqualTo(NOW.plus(Duration.ofMinutes(20)));
      assertThat(client.certificate().getSubjectAlternativeNames()).isNull();
    }
  }

  @Test
  void eachIssuedCertificateHasItsOwnKeyAndSerial() {
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("root")) {
      TestCertificateAuthority.Issued first = ca.issueClientCertificate("a", Duration.ofHours(1));
      TestCertificateAuthority.Issued second = ca.issueClientCertificate("a", Duration.ofHours(1));

      assertThat(first.certificate().getSerialNumber())
          .isNotEqualTo(second.certificate().getSerialNumber());
      assertThat(first.certificate().getSerialNumber().signum()).isPositive();
      assertThat(first.keyPair().getPublic()).isNotEqualTo(second.keyPair().getPublic());
    }
  }

  @Test
  void certificateFromAnotherCaIsRejectedByTheTrustManager() {
    try (TestCertificateAuthority trusted = TestCertificateAuthority.create("trusted");
        TestCertificateAuthority other = TestCertificateAuthority.create("other")) {
      TestCertificateAuthority.Issued stranger =
          other.issueClientCertificate("intruder", Duration.ofHours(1));

      assertThatThrownBy(
              () -> trusted.trustManager().checkClientTrusted(stranger.chainArray(), "UNKNOWN"))
          .isInstanceOf(CertificateException.class);
    }
  }

  @Test
  void caWithAClockInThePastIssuesCertificatesThatHaveExpired() {
    Clock twoDaysAgo = Clock.offset(Clock.systemUTC(), Duration.ofDays(-2));
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("old root", twoDaysAgo)) {
      TestCertificateAuthority.Issued expired =
          ca.issueClientCertificate("late", Duration.ofHours(1));

      assertThatThrownBy(() -> expired.certificate().checkValidity())
          .isInstanceOf(CertificateExpiredException.class);
      assertThatThrownBy(
              () -> ca.trustManager().checkClientTrusted(expired.chainArray(), "UNKNOWN"))
          .isInstanceOf(CertificateException.class);
    }
  }

  @Test
  void keyManagerPresentsTheIssuedChainForItsKeyTypeOnly() {
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("root")) {
      TestCertificateAuthority.Issued client =
          ca.issueClientCertificate("bot", Duration.ofHours(1));
      var keyManager = client.keyManager();

      String alias = keyManager.chooseClientAlias(new String[] {"RSA", "EC"}, null, null);
      assertThat(keyManager.getCertificateChain(alias)).containsExactlyElementsOf(client.chain());
      assertThat(keyManager.getPrivateKey(alias)).isEqualTo(client.privateKey());
      assertThat(keyManager.chooseServerAlias("RSA", null, null)).isNull();
    }
  }

  @Test
  void invalidArgumentsAreRejectedWithIllegalArgumentException() {
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("root")) {
      assertThatThrownBy(() -> TestCertificateAuthority.create(" "))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ca.issueServerCertificate(List.of()))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ca.issueServerCertificate(List.of("")))
          .isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> ca.issueClientCertificate("bot", Duration.ZERO))
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void issuingAfterCloseThrowsAndCloseIsIdempotent() {
    TestCertificateAuthority ca = TestCertificateAuthority.create("root");
    ca.close();
    ca.close();

    assertThatThrownBy(() -> ca.issueServerCertificate(List.of("localhost")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThat(ca.certificate()).isNotNull();
  }
}
