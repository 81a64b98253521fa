package dev.machineid.issuer.internal.ssh;

import static dev.machineid.issuer.internal.ssh.OpenSshTools.read;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.require;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.requireThat;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.run;
import static dev.machineid.issuer.internal.ssh.OpenSshTools.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.OpenSsh;
import dev.machineid.testkit.SshServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Logs in to a real {@code sshd} that trusts a user authority through {@code TrustedUserCAKeys}
 * and presents a host certificate, with a real {@code ssh} that trusts the host authority through
 * an {@code @cert-authority} line, as TESTING.md describes. Needs root (sshd and the login user).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SshdLoginTest {
  private static final String LOGIN = "machineid-ssh";
  private static final SecureRandom RANDOM = new SecureRandom();

  private final AtomicLong serials = new AtomicLong(1000);
  private SshCertificateAuthority userCa;
  private SshCertificateAuthority hostCa;
  private Path dir;
  private Path ssh;
  private SshServer sshd;
  private int port;
  private Path knownHosts;

  @BeforeAll
  void startSshd() throws Exception {
    require("sshd");
    ssh = require("ssh");
    require("ssh-keygen");
    requireThat(
        "root".equals(System.getProperty("user.name")),
        "starting sshd and creating the login user " + LOGIN + " needs root");
    OpenSsh.ensureLoginUser(LOGIN);

    dir = Files.createTempDirectory("machineid-sshd");
    userCa = SshCertificateAuthority.generate(RANDOM);
    hostCa = SshCertificateAuthority.generate(RANDOM);

    Path hostKey = OpenSshTools.keygen(dir, "ssh_host_ed25519_key", "ed25519", 0);
    Instant now = Instant.now();
    Path hostCertificate = write(
        dir.resolve("ssh_host_ed25519_key-cert.pub"),
        hostCa.sign(SshCertificateRequest.host(
            SshCertificateRequest.parseAuthorizedKey(read(Path.of(hostKey + ".pub"))),
            "host-test-sshd",
            List.of("127.0.0.1", "localhost"),
            now.minus(1, ChronoUnit.MINUTES),
            now.plus(1, ChronoUnit.HOURS),
            1)));
    Path trustedUserCaKeys = write(dir.resolve("user_ca.pub"), userCa.authorizedKey());
    sshd = SshServer.builder()
        .hostKey(hostKey)
        .hostCertificate(hostCertificate)
        .trustedUserCaKeys(trustedUserCaKeys)
        .logLevel("VERBOSE")
        .directory(dir.resolve("sshd"))
        .start();
    port = sshd.port();
    knownHosts = write(
        dir.resolve("known_hosts"),
        "@cert-authority 127.0.0.1,[127.0.0.1]:" + port + " " + hostCa.authorizedKey());
  }

  @AfterAll
  void stopSshdAndCleanUp() throws IOException {
    if (sshd != null) {
      sshd.close();
    }
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"ed25519, 0", "ecdsa, 256", "rsa, 3072"})
  void aUserCertificateForTheLoginFromTheTrustedAuthorityLogsInToAHostWithACertificate(
      String keyType, int bits) {
    Path key = userKeyWithCertificate(
        "id_" + keyType, keyType, bits, List.of(LOGIN, "someone-else"), Duration.ofHours(1));

    OpenSshTools.Result result = ssh(key, knownHosts, "id -un");

    assertThat(result.exitCode()).as(result.output() + "\n" + logText()).isZero();
    assertThat(result.output().strip()).isEqualTo(LOGIN);
    assertThat(logText())
        .containsPattern("Accepted publickey for " + LOGIN
            + " from 127\\.0\\.0\\.1 port \\d+ ssh2: \\S+-CERT SHA256:\\S+ ID id_" + keyType
            + " \\(serial \\d+\\) CA ED25519 " + Pattern.quote(userCa.fingerprint()));
  }

  @Test
  void aUserCertificateWhosePrincipalsDoNotIncludeTheLoginIsRefused() {
    Path key = userKeyWithCertificate(
        "id_other_login", "ed25519", 0, List.of("someone-else", "root"), Duration.ofHours(1));

    OpenSshTools.Result result = ssh(key, knownHosts, "true");

    assertThat(result.exitCode()).as(result.output()).isEqualTo(255);
    assertThat(result.output()).contains("Permission denied");
    assertThat(logText())
        .containsPattern("Certificate invalid: name is not a listed principal\\R"
            + failedLogin("id_other_login"));
  }

  @Test
  void aUserCertificateFromAnAuthoritySshdDoesNotTrustIsRefused() {
    Path key = OpenSshTools.keygen(dir, "id_wrong_ca", "ed25519", 0);
    Instant now = Instant.now();
    write(
        Path.of(key + "-cert.pub"),
        hostCa.sign(SshCertificateRequest.user(
            SshCertificateRequest.parseAuthorizedKey(read(Path.of(key + ".pub"))),
            "id_wrong_ca",
            List.of(LOGIN),
            now.minus(1, ChronoUnit.MINUTES),
            now.plus(1, ChronoUnit.HOURS),
            serials.incrementAndGet())));

    OpenSshTools.Result result = ssh(key, knownHosts, "true");

    assertThat(result.exitCode()).as(result.output()).isEqualTo(255);
    assertThat(result.output()).contains("Permission denied");
    assertThat(logText())
        .containsPattern(failedLogin("id_wrong_ca") + " \\(serial \\d+\\) CA ED25519 "
            + Pattern.quote(hostCa.fingerprint()));
  }

  @Test
  void anExpiredUserCertificateIsRefused() {
    Path key =
        userKeyWithCertificate("id_expired", "ed25519", 0, List.of(LOGIN), Duration.ofHours(-1));

    OpenSshTools.Result result = ssh(key, knownHosts, "true");

    assertThat(result.exitCode()).as(result.output()).isEqualTo(255);
    assertThat(result.output()).contains("Permission denied");
    assertThat(logText())
        .containsPattern("Certificate invalid: expired\\R" + failedLogin("id_expired"));
  }

  @Test
  void theClientRefusesTheHostWhenItsCertificateIsNotFromTheAuthorityInKnownHosts() {
    Path key =
        userKeyWithCertificate("id_strict_host", "ed25519", 0, List.of(LOGIN), Duration.ofHours(1));
    Path otherKnownHosts = write(
        dir.resolve("known_hosts_other_ca"),
        "@cert-authority 127.0.0.1,[127.0.0.1]:" + port + " "
            + SshCertificateAuthority.generate(RANDOM).authorizedKey());

    OpenSshTools.Result refused = ssh(key, otherKnownHosts, "true");
    OpenSshTools.Result accepted = ssh(key, knownHosts, "true");

    assertThat(refused.exitCode()).as(refused.output()).isEqualTo(255);
    assertThat(refused.output()).containsIgnoringCase("host key verification failed");
    assertThat(accepted.exitCode()).as(accepted.output()).isZero();
  }

  /**
   * A key made by ssh-keygen and its certificate from the user authority, valid from one minute ago
   * for {@code validity} (a negative validity makes a certificate that has already expired).
   */
  private Path userKeyWithCertificate(
      String name, String type, int bits, List<String> principals, Duration validity) {
    Path key = OpenSshTools.keygen(dir, name, type, bits);
    Instant now = Instant.now();
    Instant after =
        validity.isNegative() ? now.minus(2, ChronoUnit.HOURS) : now.minus(1, ChronoUnit.MINUTES);
    Instant before = now.plus(validity);
    write(
        Path.of(key + "-cert.pub"),
        userCa.sign(SshCertificateRequest.user(
            SshCertificateRequest.parseAuthorizedKey(read(Path.of(key + ".pub"))),
            name,
            principals,
            after,
            before,
            serials.incrementAndGet())));
    return key;
  }

  /** The start of sshd's log line for a refused certificate with this key ID. */
  private static String failedLogin(String keyId) {
    return "Failed publickey for " + LOGIN
        + " from 127\\.0\\.0\\.1 port \\d+ ssh2: \\S+-CERT SHA256:\\S+ ID " + keyId;
  }

  private OpenSshTools.Result ssh(Path key, Path knownHostsFile, String command) {
    return run(List.of(
        ssh.toString(),
        "-F",
        "/dev/null",
        "-i",
        key.toString(),
        "-o",
        "CertificateFile=" + key + "-cert.pub",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "IdentityAgent=none",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=" + knownHostsFile,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=10",
        "-p",
        Integer.toString(port),
        LOGIN + "@127.0.0.1",
        command));
  }

  private String logText() {
    return sshd.log();
  }
}
