package dev.machineid.outputs.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.TestCertificateAuthority;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;

class MariaDbTlsPluginTest {
  @Test
  void hostNameMustBeOneTheServerCertificateNames() {
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("db CA")) {
      X509Certificate cert = ca.issueServerCertificate(
              List.of("db1.internal", "*.replicas.internal", "127.0.0.1"))
          .certificate();
      assertThat(MariaDbTlsPlugin.names(cert, "db1.internal")).isTrue();
      assertThat(MariaDbTlsPlugin.names(cert, "DB1.Internal")).isTrue();
      assertThat(MariaDbTlsPlugin.names(cert, "r1.replicas.internal")).isTrue();
      assertThat(MariaDbTlsPlugin.names(cert, "127.0.0.1")).isTrue();
      // a wildcard covers one label only; other names and addresses are refused
      assertThat(MariaDbTlsPlugin.names(cert, "a.r1.replicas.internal")).isFalse();
      assertThat(MariaDbTlsPlugin.names(cert, "db2.internal")).isFalse();
      assertThat(MariaDbTlsPlugin.names(cert, "127.0.0.2")).isFalse();
      assertThat(MariaDbTlsPlugin.names(cert, "localhost")).isFalse();
    }
  }
}
