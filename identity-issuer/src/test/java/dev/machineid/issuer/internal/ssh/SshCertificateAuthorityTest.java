package dev.machineid.issuer.internal.ssh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.internal.ssh.SshCertificateRequest.Type;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SshCertificateAuthorityTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Instant AFTER = Instant.parse("2030-01-02T03:04:05Z");
  private static final Instant BEFORE = Instant.parse("2030-01-02T04:04:05Z");

  static KeyPair keyPair(String kind) throws Exception {
    KeyPairGenerator g;
    switch (kind) {
      case "ed25519" -> g = KeyPairGenerator.getInstance("Ed25519");
      case "ecdsa" -> {
        g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
      }
      case "rsa" -> {
        g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
      }
      default -> throw new IllegalArgumentException(kind);
    }
    return g.generateKeyPair();
  }

  static Stream<Arguments> subjectKinds() {
    return Stream.of(
        Arguments.of("ed25519", "ssh-ed25519-cert-v01@openssh.com"),
        Arguments.of("ecdsa", "ecdsa-sha2-nistp256-cert-v01@openssh.com"),
        Arguments.of("rsa", "ssh-rsa-cert-v01@openssh.com"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("subjectKinds")
  void aUserCertificateReadsBackWithEveryFieldItWasSignedWith(String kind, String certificateType)
      throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    PublicKey subject = keyPair(kind).getPublic();

    String line = ca.sign(SshCertificateRequest.user(
        subject, "bot-build", List.of("deploy", "root"), AFTER, BEFORE, 42));
    SshPublicKeyInfo info = SshCertificateAuthority.describe(line);

    assertThat(line).startsWith(certificateType + " ").endsWith(" bot-build");
    assertThat(info.certificateType()).isEqualTo(certificateType);
    assertThat(info.subjectAuthorizedKey()).isEqualTo(SshKeys.authorizedKey(subject));
    assertThat(info.subjectKey().getEncoded()).isEqualTo(subject.getEncoded());
    assertThat(info.type()).isEqualTo(Type.USER);
    assertThat(info.keyId()).isEqualTo("bot-build");
    assertThat(info.serial()).isEqualTo(42);
    assertThat(info.principals()).containsExactly("deploy", "root");
    assertThat(info.validAfter()).isEqualTo(AFTER);
    assertThat(info.validBefore()).isEqualTo(BEFORE);
    assertThat(info.criticalOptions()).isEmpty();
    assertThat(info.extensions())
        .containsExactly(
            "permit-agent-forwarding", "permit-port-forwarding", "permit-pty", "permit-user-rc");
    assertThat(info.signingCa()).isEqualTo(ca.authorizedKey());
    assertThat(info.signatureAlgorithm()).isEqualTo("ssh-ed25519");
    assertThat(info.comment()).isEqualTo("bot-build");
  }

  @Test
  void aHostCertificateHasNeitherExtensionsNorCriticalOptions() throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);

    SshPublicKeyInfo info = SshCertificateAuthority.describe(ca.sign(SshCertificateRequest.host(
        keyPair("ed25519").getPublic(),
        "host-web1",
        List.of("web1.example.com", "10.0.0.7"),
        AFTER,
        BEFORE,
        7)));

    assertThat(info.type()).isEqualTo(Type.HOST);
    assertThat(info.principals()).containsExactly("web1.example.com", "10.0.0.7");
    assertThat(info.extensions()).isEmpty();
    assertThat(info.criticalOptions()).isEmpty();
  }

  @Test
  void everyCertificateGetsAFreshNonceSoTwoSignaturesOfOneRequestDiffer() throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    SshCertificateRequest request = SshCertificateRequest.user(
        keyPair("ed25519").getPublic(), "bot-a", List.of("a"), AFTER, BEFORE, 1);

    byte[] first = Base64.getDecoder().decode(ca.sign(request).split(" ")[1]);
    byte[] second = Base64.getDecoder().decode(ca.sign(request).split(" ")[1]);

    // string type (4 + 32 bytes), then string nonce (4 + 32 bytes)
    assertThat(HexFormat.of().formatHex(first, 40, 72))
        .isNotEqualTo(HexFormat.of().formatHex(second, 40, 72));
  }

  @Test
  void aSerialAbove2To63IsWrittenAsTheUnsigned64BitValue() throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);

    SshPublicKeyInfo info = SshCertificateAuthority.describe(ca.sign(SshCertificateRequest.user(
        keyPair("ed25519").getPublic(), "bot-a", List.of("a"), AFTER, BEFORE, -1L)));

    assertThat(Long.toUnsignedString(info.serial())).isEqualTo("18446744073709551615");
  }

  @Test
  void aCertificateWhoseSignedBytesWereChangedIsRejected() throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    String line = ca.sign(SshCertificateRequest.user(
        keyPair("ed25519").getPublic(), "bot-a", List.of("alice"), AFTER, BEFORE, 1));
    byte[] blob = Base64.getDecoder().decode(line.split(" ")[1]);
    String tampered =
        new String(blob, java.nio.charset.StandardCharsets.ISO_8859_1).replace("alice", "admin");
    String forged = "ssh-ed25519-cert-v01@openssh.com "
        + Base64.getEncoder()
            .encodeToString(tampered.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));

    assertThatThrownBy(() -> SshCertificateAuthority.describe(forged))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("signature does not verify");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("subjectKinds")
  void anAuthorityLoadedFromAnEcdsaOrRsaKeyPairSignsWithTheMatchingAlgorithm(String kind)
      throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.of(keyPair(kind));

    SshPublicKeyInfo info = SshCertificateAuthority.describe(ca.sign(SshCertificateRequest.user(
        keyPair("ed25519").getPublic(), "bot-a", List.of("a"), AFTER, BEFORE, 1)));

    assertThat(info.signingCa()).isEqualTo(ca.authorizedKey());
    assertThat(info.signatureAlgorithm())
        .isEqualTo(ca.signatureAlgorithm())
        .isEqualTo(
            switch (kind) {
              case "ed25519" -> "ssh-ed25519";
              case "ecdsa" -> "ecdsa-sha2-nistp256";
              default -> "rsa-sha2-512";
            });
  }

  @Test
  void anAuthorityReloadedFromItsKeyPairHasTheSamePublicKey() {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);

    SshCertificateAuthority reloaded = SshCertificateAuthority.of(ca.keyPair());

    assertThat(reloaded.authorizedKey())
        .isEqualTo(ca.authorizedKey())
        .startsWith("ssh-ed25519 AAAA");
    assertThat(reloaded.fingerprint()).isEqualTo(ca.fingerprint()).startsWith("SHA256:");
    assertThat(SshCertificateRequest.parseAuthorizedKey(ca.authorizedKey()).getEncoded())
        .isEqualTo(ca.keyPair().getPublic().getEncoded());
  }

  @Test
  void loadingAKeyPairWhoseHalvesDoNotMatchIsRefused() throws Exception {
    KeyPair mixed =
        new KeyPair(keyPair("ed25519").getPublic(), keyPair("ed25519").getPrivate());

    assertThatThrownBy(() -> SshCertificateAuthority.of(mixed))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not match");
  }

  @Test
  void loadingAKeyOnAnotherCurveThanP256IsRefused() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"));

    assertThatThrownBy(() -> SshCertificateAuthority.of(g.generateKeyPair()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("P-256");
  }

  @Test
  void aRequestWithoutPrincipalsIsRefused() throws Exception {
    PublicKey key = keyPair("ed25519").getPublic();

    assertThatThrownBy(() -> SshCertificateRequest.user(key, "bot-a", List.of(), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("principals must not be empty");
    assertThatThrownBy(() -> SshCertificateRequest.user(key, "bot-a", null, AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("principals must not be empty");
  }

  @Test
  void principalsWithCommasWhitespaceOrDuplicatesAreRefused() throws Exception {
    PublicKey key = keyPair("ed25519").getPublic();

    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "bot-a", List.of("root,admin"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("contains a comma");
    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "bot-a", List.of("ro ot"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("contains a space");
    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "bot-a", List.of("a", "a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("listed twice");
    assertThatThrownBy(() -> SshCertificateRequest.user(
            key, "bot-a", java.util.Arrays.asList("a", ""), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty");
  }

  @Test
  void aValidityThatEndsAtOrBeforeItsStartIsRefused() throws Exception {
    PublicKey key = keyPair("ed25519").getPublic();

    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "bot-a", List.of("a"), AFTER, AFTER, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("validBefore must be at least one whole second after validAfter");
    assertThatThrownBy(() ->
            SshCertificateRequest.user(key, "bot-a", List.of("a"), AFTER, AFTER.plusMillis(500), 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("validBefore must be at least one whole second after validAfter");
    assertThatThrownBy(() -> SshCertificateRequest.user(
            key, "bot-a", List.of("a"), Instant.EPOCH.minusSeconds(1), BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("validAfter must not be before 1970");
  }

  @Test
  void keyIdsThatAreEmptyTooLongOrNotPrintableAsciiAreRefused() throws Exception {
    PublicKey key = keyPair("ed25519").getPublic();

    assertThatThrownBy(() -> SshCertificateRequest.user(key, "", List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("keyId must not be empty");
    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "x".repeat(257), List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most 256");
    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "bot a", List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("printable ASCII without spaces");
    assertThatThrownBy(
            () -> SshCertificateRequest.user(key, "bot\na", List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("printable ASCII without spaces");
  }

  @Test
  void subjectKeysOtherThanEd25519P256OrRsaOfAtLeast2048BitsAreRefused() throws Exception {
    KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
    rsa.initialize(1024);
    KeyPairGenerator ed448 = KeyPairGenerator.getInstance("Ed448");

    assertThatThrownBy(() -> SshCertificateRequest.user(
            rsa.generateKeyPair().getPublic(), "bot-a", List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("2048");
    assertThatThrownBy(() -> SshCertificateRequest.user(
            ed448.generateKeyPair().getPublic(), "bot-a", List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Ed25519");
    assertThatThrownBy(
            () -> SshCertificateRequest.user(null, "bot-a", List.of("a"), AFTER, BEFORE, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("subjectKey is required");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("subjectKinds")
  void anAuthorizedKeyLineParsesBackToTheSameKeyWhateverItsComment(String kind) throws Exception {
    PublicKey key = keyPair(kind).getPublic();
    String line = SshKeys.authorizedKey(key);

    assertThat(SshCertificateRequest.parseAuthorizedKey(line).getEncoded())
        .isEqualTo(key.getEncoded());
    assertThat(SshCertificateRequest.parseAuthorizedKey("  " + line + " bot@host with spaces\n")
            .getEncoded())
        .isEqualTo(key.getEncoded());
  }

  @Test
  void authorizedKeyLinesThatAreCertificatesCarryOptionsOrLieAboutTheirTypeAreRefused()
      throws Exception {
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    String ed = SshKeys.authorizedKey(keyPair("ed25519").getPublic());
    String certificate = ca.sign(SshCertificateRequest.user(
        keyPair("ed25519").getPublic(), "bot-a", List.of("a"), AFTER, BEFORE, 1));

    assertThatThrownBy(() -> SshCertificateRequest.parseAuthorizedKey(certificate))
        .hasMessageContaining("is a certificate");
    assertThatThrownBy(() -> SshCertificateRequest.parseAuthorizedKey("no-pty " + ed))
        .hasMessageContaining("options before it");
    assertThatThrownBy(
            () -> SshCertificateRequest.parseAuthorizedKey("ssh-rsa " + ed.split(" ")[1]))
        .hasMessageContaining("holds a ssh-ed25519 key");
    assertThatThrownBy(() -> SshCertificateRequest.parseAuthorizedKey("ssh-ed25519 !!!"))
        .hasMessageContaining("not base64");
    assertThatThrownBy(() -> SshCertificateRequest.parseAuthorizedKey("ssh-ed25519"))
        .hasMessageContaining("missing");
    assertThatThrownBy(() -> SshCertificateRequest.parseAuthorizedKey(""))
        .hasMessageContaining("empty");
  }

  @Test
  void anEcdsaKeyWhosePointIsNotOnTheCurveIsRefused() {
    byte[] point = new byte[65];
    point[0] = 4;
    point[64] = 1; // (0, 1) is not on P-256
    byte[] blob = new SshWire.Writer()
        .string("ecdsa-sha2-nistp256")
        .string("nistp256")
        .string(point)
        .toByteArray();

    assertThatThrownBy(() -> SshCertificateRequest.parseAuthorizedKey(
            "ecdsa-sha2-nistp256 " + Base64.getEncoder().encodeToString(blob)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not on the curve");
  }

  @Test
  void mpintsAreEncodedAsRfc4251Section5Shows() {
    assertThat(mpint(BigInteger.ZERO)).isEqualTo("00000000");
    assertThat(mpint(new BigInteger("9a378f9b2e332a7", 16))).isEqualTo("0000000809a378f9b2e332a7");
    assertThat(mpint(BigInteger.valueOf(0x80))).isEqualTo("000000020080");
    assertThat(mpint(new BigInteger("-1234", 16))).isEqualTo("00000002edcc");
    assertThat(mpint(new BigInteger("-deadbeef", 16))).isEqualTo("00000005ff21524111");
  }

  private static String mpint(BigInteger value) {
    return HexFormat.of().formatHex(new SshWire.Writer().mpint(value).toByteArray());
  }
}
