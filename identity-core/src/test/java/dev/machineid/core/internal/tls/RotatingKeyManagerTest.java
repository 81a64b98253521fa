package dev.machineid.core.internal.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.TestCerts;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RotatingKeyManagerTest {
  private final KeyPair caKp = KeyAlgorithm.EC_P256.generate();
  private final X509Certificate ca = TestCerts.ca(caKp, "ca");

  private KeySnapshot identity(long generation, Instant notAfter) {
    KeyPair kp = KeyAlgorithm.EC_P256.generate();
    X509Certificate leaf = TestCerts.leaf(caKp, "ca", kp, "bot-a", "spiffe://td/bot/a", notAfter);
    return KeySnapshot.of(List.of(leaf, ca), kp.getPrivate());
  }

  @Test
  void aliasPinsOneSnapshotAcrossARotation() {
    KeySnapshot first = identity(1, Instant.now().plusSeconds(600));
    KeySnapshot second = identity(2, Instant.now().plusSeconds(600));
    AtomicReference<KeySnapshot> current = new AtomicReference<>(first);
    RotatingKeyManager km = new RotatingKeyManager(current::get, Clock.systemUTC());

    String alias = km.chooseClientAlias(new String[] {"EC"}, null, null);
    // the rotation lands between choosing the alias and reading chain and key
    current.set(second);
    km.retire(first);

    assertThat(km.getCertificateChain(alias)[0]).isEqualTo(first.chain()[0]);
    assertThat(km.getPrivateKey(alias)).isEqualTo(first.key());
    String next = km.chooseClientAlias(new String[] {"EC"}, null, null);
    assertThat(km.getCertificateChain(next)[0]).isEqualTo(second.chain()[0]);
    assertThat(km.getPrivateKey(next)).isEqualTo(second.key());
  }

  @Test
  void expiredIdentityServesNoCertificate() {
    KeySnapshot id = identity(1, Instant.now().plusSeconds(60));
    Clock later = Clock.fixed(Instant.now().plusSeconds(120), ZoneOffset.UTC);
    RotatingKeyManager km = new RotatingKeyManager(() -> id, later);
    assertThat(km.chooseClientAlias(new String[] {"EC"}, null, null)).isNull();
  }

  @Test
  void keyOfAnotherTypeOrForeignIssuersIsNotOffered() {
    KeySnapshot id = identity(1, Instant.now().plusSeconds(600));
    RotatingKeyManager km = new RotatingKeyManager(() -> id, Clock.systemUTC());
    assertThat(km.chooseClientAlias(new String[] {"RSA"}, null, null)).isNull();
    assertThat(km.chooseClientAlias(
            new String[] {"EC"},
            new java.security.Principal[] {
              new javax.security.auth.x500.X500Principal("CN=someone else")
            },
            null))
        .isNull();
    assertThat(km.chooseClientAlias(
            new String[] {"EC"},
            new java.security.Principal[] {ca.getSubjectX500Principal()},
            null))
        .isNotNull();
  }
}
