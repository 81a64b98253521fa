package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.internal.renewal.AuthoritySnapshot;
import dev.machineid.core.internal.renewal.TrustBundles;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Pem;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TrustBundleTest {
  private static final KeyPair ISSUER_KEY = keyPair();
  private static final X509Certificate ISSUER_CA = TestCerts.ca(ISSUER_KEY, "issuer authority");
  private static final X509Certificate SPIFFE_CA = TestCerts.ca(keyPair(), "spiffe authority");
  private static final X509Certificate UNPINNED = TestCerts.ca(keyPair(), "not under the pin");

  @Test
  void theBundleHoldsTheAcceptedIssuerAuthoritiesAndEveryOtherAuthorityOfTheDocument() {
    ObjectNode jwks = JsonNodeFactory.instance.objectNode();
    jwks.putArray("keys").addObject().put("kty", "EC").put("kid", "k1");
    Authority doc = new Authority(
        "example.test",
        List.of(Pem.encode(ISSUER_CA), Pem.encode(UNPINNED)),
        List.of(Pem.encode(SPIFFE_CA)),
        null,
        null,
        null,
        List.of("ssh-ed25519 AAAA user-ca"),
        List.of("ssh-ed25519 BBBB host-ca"),
        jwks);
    TrustBundle b = TrustBundles.of(AuthoritySnapshot.of(doc, List.of(ISSUER_CA)));
    assertThat(b.trustDomain()).isEqualTo("example.test");
    assertThat(b.x509Authorities()).containsExactly(ISSUER_CA);
    assertThat(b.pins()).containsExactly(CaPin.of(ISSUER_CA));
    assertThat(b.spiffeAuthorities()).containsExactly(SPIFFE_CA);
    assertThat(b.databaseClientAuthorities()).isEmpty();
    assertThat(b.sshUserAuthorities()).containsExactly("ssh-ed25519 AAAA user-ca");
    assertThat(b.sshHostAuthorities()).containsExactly("ssh-ed25519 BBBB host-ca");
    assertThat(b.jwksJson()).contains("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k1\"}]}");
    assertThat(TrustBundles.of(AuthoritySnapshot.of(doc, List.of(ISSUER_CA)))).isEqualTo(b);
  }

  @Test
  void aBundleIsACopyThatCannotBeChangedAndPrintsNoKeyMaterial() {
    List<X509Certificate> list = new ArrayList<>(List.of(ISSUER_CA));
    TrustBundle b = new TrustBundle("example.test", list, null, null, null, null, null, null, null);
    list.add(UNPINNED);
    assertThat(b.x509Authorities()).containsExactly(ISSUER_CA);
    assertThatThrownBy(() -> b.x509Authorities().add(UNPINNED))
        .isInstanceOf(UnsupportedOperationException.class);
    assertThat(b.jwksJson()).isEmpty();
    assertThat(b.toString())
        .contains("example.test")
        .doesNotContain("BEGIN")
        .doesNotContain("issuer authority");
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(256);
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
