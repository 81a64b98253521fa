package dev.machineid.core.internal.renewal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.AnswerRefusedException;
import dev.machineid.core.CaPin;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.TestCerts;
import dev.machineid.core.internal.client.PinningTrustManager;
import dev.machineid.core.protocol.Protocol;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A stored identity is checked like a fresh answer: the file vouches for nothing. */
class StoredIdentityCheckTest {
  private static final String CA_CN = "t.internal issuer authority";
  private final KeyPair caKey = KeyAlgorithm.EC_P256.generate();
  private final X509Certificate ca = TestCerts.ca(caKey, CA_CN);
  // an attacker's authority, even with the same name
  private final KeyPair evilKey = KeyAlgorithm.EC_P256.generate();
  private final X509Certificate evil = TestCerts.ca(evilKey, CA_CN);
  private final KeyPair botKey = KeyAlgorithm.EC_P256.generate();
  private final PinningTrustManager pinnedToCa =
      new PinningTrustManager(List.of(CaPin.of(ca)), List.of(), false, Clock.systemUTC());
  private final Instant now = Instant.now();

  private X509Certificate leaf(KeyPair signer, String bot, String instance, long generation) {
    return TestCerts.leaf(
        signer,
        CA_CN,
        botKey,
        "bot-" + bot,
        "spiffe://t.internal/bot/" + bot,
        now.plusSeconds(600),
        instance,
        generation);
  }

  private SpiffeIdCheck check(
      AnswerVerifier.StoredClaims claims, X509Certificate leaf, List<X509Certificate> stored) {
    return () -> AnswerVerifier.verifyStored(
        claims, List.of(leaf), null, stored, pinnedToCa.acceptAuthorities(stored, List.of()), now);
  }

  private interface SpiffeIdCheck extends org.assertj.core.api.ThrowableAssert.ThrowingCallable {}

  private static AnswerVerifier.StoredClaims claims(String bot, String instance, long gen) {
    return new AnswerVerifier.StoredClaims(bot, instance, gen, "t.internal");
  }

  @Test
  void aStoredIdentityWhoseBundleAndChainThePinsVouchForIsAccepted() {
    X509Certificate leaf = leaf(caKey, "web", "i-1", 2);
    assertThatCode(check(claims("web", "i-1", 2), leaf, List.of(ca))).doesNotThrowAnyException();
    assertThat(AnswerVerifier.verifyStored(
            claims("web", "i-1", 2), List.of(leaf), null, List.of(ca), List.of(ca), now))
        .hasToString("spiffe://t.internal/bot/web");
  }

  @Test
  void aStoredTrustBundleOfAnAuthorityNoPinVouchesForIsRefused() {
    // the file's chain and bundle both name the attacker's authority, which chains perfectly
    X509Certificate forged = leaf(evilKey, "web", "i-1", 2);
    assertThatThrownBy(check(claims("web", "i-1", 2), forged, List.of(evil)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("stored identity is refused")
        .hasMessageContaining("no configured CA pin or CA file vouches for");
  }

  @Test
  void anAuthorityAddedBesideThePinnedOneInTheStoredBundleIsRefused() {
    X509Certificate leaf = leaf(caKey, "web", "i-1", 2);
    assertThatThrownBy(check(claims("web", "i-1", 2), leaf, List.of(ca, evil)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("no configured CA pin or CA file vouches for");
    X509Certificate forged = leaf(evilKey, "web", "i-1", 2);
    assertThatThrownBy(check(claims("web", "i-1", 2), forged, List.of(ca, evil)))
        .isInstanceOf(AnswerRefusedException.class);
  }

  @Test
  void storedFieldsThatTheCertificateContradictsAreRefused() {
    X509Certificate leaf = leaf(caKey, "web", "i-1", 2);
    assertThatThrownBy(check(claims("admin", "i-1", 2), leaf, List.of(ca)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("not bot 'admin'");
    assertThatThrownBy(check(claims("web", "00000000", 2), leaf, List.of(ca)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("instance i-1 generation 2");
    assertThatThrownBy(check(claims("web", "i-1", 99), leaf, List.of(ca)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("generation 99");
    assertThatThrownBy(check(claims("web", "i-1", -5), leaf, List.of(ca)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("generation -5");
    assertThatThrownBy(check(
            new AnswerVerifier.StoredClaims("web", "i-1", 2, "evil.internal"), leaf, List.of(ca)))
        .isInstanceOf(AnswerRefusedException.class)
        .hasMessageContaining("trust domain 'evil.internal'");
  }

  @Test
  void aStoredJwksThatIsNoKeySetOrHoldsAnInvalidKeyIsRefused() throws Exception {
    KeyPair ec = KeyAlgorithm.EC_P256.generate();
    var pub = (java.security.interfaces.ECPublicKey) ec.getPublic();
    String x = b64(pub.getW().getAffineX());
    String y = b64(pub.getW().getAffineY());
    String good = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k\",\"x\":\"" + x
        + "\",\"y\":\"" + y + "\"}]}";
    assertThatCode(() -> AnswerVerifier.verifyJwks(Protocol.reader().readTree(good)))
        .doesNotThrowAnyException();
    assertThatCode(() -> AnswerVerifier.verifyJwks(null)).doesNotThrowAnyException();

    String offCurve = good.replace(y, b64(pub.getW().getAffineY().add(java.math.BigInteger.ONE)));
    for (String bad : List.of("\"this is not json\"", "{\"keys\":{}}", offCurve)) {
      assertThatThrownBy(() -> AnswerVerifier.verifyJwks(Protocol.reader().readTree(bad)))
          .as(bad)
          .isInstanceOf(AnswerRefusedException.class)
          .hasMessageContaining("JWKS");
    }
  }

  private static String b64(java.math.BigInteger v) {
    byte[] raw = v.toByteArray();
    byte[] fixed = new byte[32];
    int n = Math.min(raw.length, 32);
    System.arraycopy(raw, raw.length - n, fixed, 32 - n, n);
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(fixed);
  }
}
