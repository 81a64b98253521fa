package dev.machineid.issuer.internal.ssh;

import static dev.machineid.issuer.internal.ssh.OpenSshTools.read;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.require;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.run;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.runOk;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.internal.ssh.SshCertificateRequest.Type;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Certificates and keys checked by the real {@code ssh-keygen}, which verifies the CA signature when it reads a certificate. */
class SshKeygenInteropTest {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Instant AFTER = Instant.parse("2030-01-02T03:04:05Z");
  private static final Instant BEFORE = Instant.parse("2030-01-02T04:04:05Z");

  @TempDir
  Path dir;

  static Stream<Arguments> certificates() {
    return Stream.of(
        Arguments.of(
            "ed25519",
            Type.USER,
            "ssh-ed25519-cert-v01@openssh.com user certificate",
            "ED25519-CERT"),
        Arguments.of(
            "ecdsa",
            Type.USER,
            "ecdsa-sha2-nistp256-cert-v01@openssh.com user certificate",
            "ECDSA-CERT"),
        Arguments.of("rsa", Type.USER, "ssh-rsa-cert-v01@openssh.com user certificate", "RSA-CERT"),
        Arguments.of(
            "ed25519",
            Type.HOST,
            "ssh-ed25519-cert-v01@openssh.com host certificate",
            "ED25519-CERT"),
        Arguments.of(
            "ecdsa",
            Type.HOST,
            "ecdsa-sha2-nistp256-cert-v01@openssh.com host certificate",
            "ECDSA-CERT"),
        Arguments.of(
            "rsa", Type.HOST, "ssh-rsa-cert-v01@openssh.com host certificate", "RSA-CERT"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("certificates")
  void sshKeygenListsTheTypeKeyIdSerialPrincipalsAndValidityOfACertificate(
      String kind, Type type, String typeLine, String keyLabel) throws Exception {
    Path sshKeygen = require("ssh-keygen");
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    PublicKey subject = SshCertificateAuthorityTest.keyPair(kind).getPublic();
    List<String> principals =
        type == Type.USER ? List.of("deploy", "root") : List.of("web1.example.com", "127.0.0.1");
    String certificate = ca.sign(new SshCertificateRequest(
        subject, type, "bot-build", principals, AFTER, BEFORE, 9_000_000_001L));
    Path file = write(dir.resolve("key-cert.pub"), certificate);

    String listing = runOk(List.of(sshKeygen.toString(), "-L", "-f", file.toString()));

    String subjectFingerprint = SshKeys.fingerprint(SshKeys.blob(subject));
    assertThat(listing)
        .contains("Type: " + typeLine + "\n")
        .contains("Public key: " + keyLabel + " " + subjectFingerprint + "\n")
        .contains("Signing CA: ED25519 " + ca.fingerprint() + " (using ssh-ed25519)\n")
        .contains("Key ID: \"bot-build\"\n")
        .contains("Serial: 9000000001\n")
        .contains("Valid: from 2030-01-02T03:04:05 to 2030-01-02T04:04:05\n")
        .containsPattern("Principals: \\n\\s+" + principals.get(0) + "\\n\\s+"
            + principals.get(1).replace(".", "\\.") + "\\n")
        .contains("Critical Options: (none)\n");
    if (type == Type.USER) {
      assertThat(listing)
          .containsPattern(
              "Extensions: \\n\\s+permit-agent-forwarding\\n\\s+permit-port-forwarding\\n\\s+permit-pty\\n\\s+permit-user-rc\\n?$");
    } else {
      assertThat(listing).contains("Extensions: (none)");
    }
  }

  @Test
  void sshKeygenAcceptsCertificatesFromAuthoritiesWithEcdsaAndRsaKeys() throws Exception {
    Path sshKeygen = require("ssh-keygen");
    PublicKey subject = SshCertificateAuthorityTest.keyPair("ed25519").getPublic();
    for (String kind : List.of("ecdsa", "rsa")) {
      SshCertificateAuthority ca =
          SshCertificateAuthority.of(SshCertificateAuthorityTest.keyPair(kind));
      Path file = write(
          dir.resolve(kind + "-cert.pub"),
          ca.sign(SshCertificateRequest.user(subject, "bot-a", List.of("a"), AFTER, BEFORE, 1)));

      String listing = runOk(List.of(sshKeygen.toString(), "-L", "-f", file.toString()));

      assertThat(listing)
          .contains("Signing CA: " + kind.toUpperCase() + " " + ca.fingerprint() + " (using "
              + ca.signatureAlgorithm() + ")");
    }
  }

  @Test
  void sshKeygenRejectsACertificateWhoseSignedBytesWereChanged() throws Exception {
    Path sshKeygen = require("ssh-keygen");
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    String certificate = ca.sign(SshCertificateRequest.user(
        SshCertificateAuthorityTest.keyPair("ed25519").getPublic(),
        "bot-a",
        List.of("alice"),
        AFTER,
        BEFORE,
        1));
    String blob = new String(
            Base64.getDecoder().decode(certificate.split(" ")[1]), StandardCharsets.ISO_8859_1)
        .replace("alice", "admin");
    Path genuine = write(dir.resolve("genuine-cert.pub"), certificate);
    Path forged = write(
        dir.resolve("forged-cert.pub"),
        "ssh-ed25519-cert-v01@openssh.com "
            + Base64.getEncoder().encodeToString(blob.getBytes(StandardCharsets.ISO_8859_1)));

    assertThat(
            run(List.of(sshKeygen.toString(), "-L", "-f", genuine.toString())).exitCode())
        .isZero();
    assertThat(run(List.of(sshKeygen.toString(), "-L", "-f", forged.toString())).exitCode())
        .isNotZero();
  }

  @Test
  void sshKeygenFingerprintsTheAuthorizedKeyLineOfTheAuthority() throws Exception {
    Path sshKeygen = require("ssh-keygen");
    SshCertificateAuthority ca = SshCertificateAuthority.generate(RANDOM);
    Path file = write(dir.resolve("ca.pub"), ca.authorizedKey());

    String fingerprint = runOk(List.of(sshKeygen.toString(), "-l", "-f", file.toString()));

    assertThat(ca.authorizedKey()).matches("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/=]+");
    assertThat(fingerprint.strip())
        .startsWith("256 " + ca.fingerprint() + " ")
        .endsWith("(ED25519)");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("keygenKeys")
  void publicKeyLinesWrittenBySshKeygenParseToTheKeysSshKeygenFingerprints(String type, int bits) {
    Path sshKeygen = require("ssh-keygen");
    Path key = OpenSshTools.keygen(dir, "id_" + type, type, bits);
    String line = read(Path.of(key + ".pub"));

    PublicKey parsed = SshCertificateRequest.parseAuthorizedKey(line);

    String fingerprint = runOk(List.of(sshKeygen.toString(), "-l", "-f", key + ".pub"));
    assertThat(fingerprint).contains(" " + SshKeys.fingerprint(SshKeys.blob(parsed)) + " ");
    assertThat(line).startsWith(SshKeys.authorizedKey(parsed) + " ");
  }

  static Stream<Arguments> keygenKeys() {
    return Stream.of(
        Arguments.of("ed25519", 0), Arguments.of("ecdsa", 256), Arguments.of("rsa", 3072));
  }

  @Test
  void aCertificateSignedBySshKeygenIsDescribedWithItsFieldsAndVerifiedSignature() {
    Path sshKeygen = require("ssh-keygen");
    Path caKey = OpenSshTools.keygen(dir, "ca", "ed25519", 0);
    Path userKey = OpenSshTools.keygen(dir, "user", "ecdsa", 256);
    runOk(List.of(
        sshKeygen.toString(),
        "-q",
        "-s",
        caKey.toString(),
        "-I",
        "made-by-ssh-keygen",
        "-n",
        "alice,bob",
        "-V",
        "20300101000000:20300101010000",
        "-z",
        "77",
        "-O",
        "clear",
        "-O",
        "permit-pty",
        "-O",
        "force-command=/bin/true",
        userKey + ".pub"));

    SshPublicKeyInfo info = SshCertificateAuthority.describe(read(dir.resolve("user-cert.pub")));

    assertThat(info.certificateType()).isEqualTo("ecdsa-sha2-nistp256-cert-v01@openssh.com");
    assertThat(info.keyId()).isEqualTo("made-by-ssh-keygen");
    assertThat(info.serial()).isEqualTo(77);
    assertThat(info.principals()).containsExactly("alice", "bob");
    assertThat(info.validAfter()).isEqualTo(Instant.parse("2030-01-01T00:00:00Z"));
    assertThat(info.validBefore()).isEqualTo(Instant.parse("2030-01-01T01:00:00Z"));
    assertThat(info.criticalOptions()).containsExactly("force-command");
    assertThat(info.extensions()).containsExactly("permit-pty");
    assertThat(info.signingCa() + " ca").isEqualTo(read(Path.of(caKey + ".pub")));
    assertThat(info.subjectAuthorizedKey() + " user").isEqualTo(read(Path.of(userKey + ".pub")));
  }
}
