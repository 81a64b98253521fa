package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

class CaPinTest {
  private final KeyPair kp = KeyAlgorithm.EC_P256.generate();
  private final X509Certificate ca = TestCerts.ca(kp, "pin test");

  @Test
  void pinPrintsAndParsesBack() {
    CaPin pin = CaPin.of(ca);
    assertThat(pin.toString()).matches("sha256:[0-9a-f]{64}");
    assertThat(CaPin.parse(pin.toString())).isEqualTo(pin);
    assertThat(CaPin.parse(pin.toString().toUpperCase().replace("SHA256", "sha256")))
        .isEqualTo(pin);
  }

  @Test
  void pinMatchesOnlyTheSameKey() {
    CaPin pin = CaPin.of(ca);
    assertThat(pin.matches(ca)).isTrue();
    assertThat(pin.matches(TestCerts.ca(KeyAlgorithm.EC_P256.generate(), "other")))
        .isFalse();
    // the pin names the key, not the certificate: a re-issued CA with the same key still matches
    assertThat(pin.matches(TestCerts.ca(kp, "renamed"))).isTrue();
  }

  @Test
  void malformedPinsAreRefusedWithTheReason() {
    assertThatThrownBy(() -> CaPin.parse("md5:abc"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sha256:");
    assertThatThrownBy(() -> CaPin.parse("sha256:abcd")).hasMessageContaining("64 hex digits");
    assertThatThrownBy(() -> CaPin.parse("sha256:" + "zz".repeat(32)))
        .hasMessageContaining("not hexadecimal");
  }
}
