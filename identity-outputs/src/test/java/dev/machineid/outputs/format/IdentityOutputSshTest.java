package dev.machineid.outputs.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.MachineIdentity;
import dev.machineid.core.output.Output;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.testkit.OpenSsh;
import dev.machineid.testkit.ServerProcesses;
import dev.machineid.testkit.SshServer;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code identity} output as tbot's: with only that output, {@code ssh -F <dest>/ssh_config}
 * logs in to a real sshd (host certificate from the {@code ssh_host} authority, user CA from the
 * authority document) as one of the bot's logins, with strict host key checking.
 */
class IdentityOutputSshTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final String LOGIN = "mid-ident";
  private static final String OUTSIDER = "mid-outsider";
  private static final AtomicInteger BOTS = new AtomicInteger();

  @TempDir
  Path tmp;

  private SshServer sshd;

  @BeforeAll
  static void roles() {
    Issuer issuer = ISSUER.start();
    // the bot's logins come from its roles; {{internal.logins}} takes them from the bot's 'logins'
    // trait
    issuer
        .roles()
        .create(new Role(
            "ident-ssh",
            List.of("{{internal.logins}}"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "ident-other",
            List.of(OUTSIDER),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
  }

  @AfterEach
  void stopSshd() {
    if (sshd != null) {
      sshd.close();
    }
  }

  private static TestBot bot(List<String> logins) {
    String name = "ident-" + BOTS.incrementAndGet();
    Issuer issuer = ISSUER.issuer();
    issuer
        .bots()
        .create(name, List.of("ident-ssh"), logins.isEmpty() ? Map.of() : Map.of("logins", logins));
    return new TestBot(
        name, issuer.tokens().create(name, Duration.ofHours(1)), issuer.url(), issuer.caPin());
  }

  @Test
  void sshLogsInAsTheBotWithOnlyTheIdentityOutputAndKeepsWorkingAfterRenewal() throws Exception {
    OpenSsh.tool("sshd");
    String ssh = OpenSsh.tool("ssh");
    String keygen = OpenSsh.tool("ssh-keygen");
    OpenSsh.ensureLoginUser(LOGIN);
    OpenSsh.ensureLoginUser(OUTSIDER);
    Path dest = tmp.resolve("identity");
    Path marker = tmp.resolve("reloaded");
    // the hook sees the files already written: it records the certificate it finds
    String reload = "cat '" + dest.resolve("key-cert.pub") + "' >> '" + marker + "'";
    Output out =
        FileOutputsTest.output("identity", Map.of("type", "identity", "reload", reload), dest);
    try (MachineIdentity id = bot(List.of(LOGIN)).identityBuilder().output(out).build()) {
      id.start();
      for (String f :
          List.of("tlscert", "key", "tlscacerts", "key-cert.pub", "ssh_config", "known_hosts")) {
        assertThat(dest.resolve(f)).as(f).exists();
      }
      assertThat(FileOutputsTest.mode(dest, "key")).isEqualTo("rw-------");
      String cert = Files.readString(dest.resolve("key-cert.pub"));
      assertThat(cert).isEqualTo(id.current().sshCertificate().orElseThrow().strip() + "\n");
      assertThat(Files.readAllLines(marker)).containsExactly(cert.strip());

      // OpenSSH reads the key file, and it is the key the certificate certifies
      ServerProcesses.Result pub =
          OpenSsh.run(List.of(keygen, "-y", "-f", dest.resolve("key").toString()));
      assertThat(pub.exitCode()).as(pub.output()).isZero();
      assertThat(pub.output().strip())
          .isEqualTo(SshPublicKeys.authorizedKey(id.current().certificate().getPublicKey()));
      ServerProcesses.Result listed =
          OpenSsh.run(List.of(keygen, "-L", "-f", dest.resolve("key-cert.pub").toString()));
      assertThat(listed.exitCode()).as(listed.output()).isZero();
      assertThat(principals(listed.output())).containsExactly(LOGIN);
      assertThat(listed.output()).contains("Key ID: \"bot-" + id.current().botName() + "\"");

      String config = Files.readString(dest.resolve("ssh_config"));
      assertThat(config)
          .contains("IdentityFile \"" + dest.resolve("key") + "\"")
          .contains("CertificateFile \"" + dest.resolve("key-cert.pub") + "\"")
          .contains("UserKnownHostsFile \"" + dest.resolve("known_hosts") + "\"")
          .contains("StrictHostKeyChecking yes");
      assertThat(Files.readString(dest.resolve("known_hosts")))
          .isEqualTo("@cert-authority * "
              + ISSUER.issuer().authority().sshHostAuthorities().get(0).strip() + "\n");

      int port = startSshd();
      List<String> base = List.of(
          ssh,
          "-4",
          "-F",
          dest.resolve("ssh_config").toString(),
          "-o",
          "BatchMode=yes",
          "-o",
          "ConnectTimeout=10",
          "-p",
          String.valueOf(port));
      ServerProcesses.Result ok = await("ssh login")
          .atMost(Duration.ofSeconds(10))
          .until(() -> run(base, LOGIN + "@localhost", "id -un"), r -> r.exitCode() == 0);
      assertThat(ok.output().strip()).endsWith(LOGIN);

      // a login the bot's roles do not allow (it exists on the host; another role allows it)
      ServerProcesses.Result refused = run(base, OUTSIDER + "@localhost", "id -un");
      assertThat(refused.exitCode()).as(refused.output()).isNotZero();
      assertThat(refused.output()).contains("Permission denied");

      // renewal: a new SSH certificate, written before the hook runs again, still accepted
      id.renewNow().join();
      await("new key-cert.pub")
          .atMost(Duration.ofSeconds(20))
          .until(() -> !Files.readString(dest.resolve("key-cert.pub")).equals(cert));
      String renewed = Files.readString(dest.resolve("key-cert.pub"));
      assertThat(renewed).isEqualTo(id.current().sshCertificate().orElseThrow().strip() + "\n");
      await("reload hook after the renewal")
          .atMost(Duration.ofSeconds(10))
          .until(() -> Files.readAllLines(marker), l -> l.size() == 2);
      assertThat(Files.readAllLines(marker)).containsExactly(cert.strip(), renewed.strip());
      ServerProcesses.Result again = run(base, LOGIN + "@localhost", "id -un");
      assertThat(again.exitCode()).as(again.output()).isZero();
      assertThat(again.output().strip()).endsWith(LOGIN);
    }
  }

  @Test
  void theSdkAsksForTheSshCertificateOnlyWhenToldOrWhenAnOutputRendersIt() {
    try (MachineIdentity plain = bot(List.of(LOGIN)).identityBuilder().build()) {
      assertThat(plain.start().sshCertificate()).isEmpty();
    }
    try (MachineIdentity asked =
        bot(List.of(LOGIN)).identityBuilder().sshCertificate(true).build()) {
      String cert = asked.start().sshCertificate().orElseThrow();
      assertThat(cert).startsWith("ecdsa-sha2-nistp256-cert-v01@openssh.com ");
    }
  }

  @Test
  void botWithoutLoginsGetsTheIdentityFilesWithoutACertificate() throws Exception {
    Path dest = tmp.resolve("no-logins");
    Output out = FileOutputsTest.output("identity", Map.of("type", "identity"), dest);
    try (MachineIdentity id = bot(List.of()).identityBuilder().output(out).build()) {
      assertThat(id.start().sshCertificate()).isEmpty();
      assertThat(dest.resolve("tlscert")).exists();
      assertThat(dest.resolve("known_hosts")).exists();
      assertThat(dest.resolve("key-cert.pub")).doesNotExist();
    }
  }

  @Test
  void identityOutputRefusesRoleScopedSettings() {
    assertThatThrownBy(() -> FileOutputsTest.output(
            "identity",
            Map.of("type", "identity", "roles", List.of("ident-ssh")),
            tmp.resolve("x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("roles:");
    assertThatThrownBy(() -> FileOutputsTest.output(
            "identity", Map.of("type", "identity", "logins", List.of(LOGIN)), tmp.resolve("x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("logins:");
  }

  private int startSshd() throws Exception {
    Path host = Files.createDirectory(tmp.resolve("host"));
    Path hostKey = OpenSsh.keygen(host, "ssh_host_ed25519_key", "ed25519", 0);
    Issuer issuer = ISSUER.issuer();
    // the host certificate as an operator makes it with 'issuer sign' (the ssh_host authority)
    String hostCert = issuer
        .signing()
        .sshHost(
            Files.readString(host.resolve("ssh_host_ed25519_key.pub")).strip(),
            List.of("localhost"),
            Duration.ofHours(1));
    Files.writeString(host.resolve("ssh_host_ed25519_key-cert.pub"), hostCert + "\n");
    Files.writeString(
        host.resolve("user-ca.pub"),
        String.join("\n", issuer.authority().sshUserAuthorities()) + "\n");
    sshd = SshServer.builder()
        .hostKey(hostKey)
        .hostCertificate(host.resolve("ssh_host_ed25519_key-cert.pub"))
        .trustedUserCaKeys(host.resolve("user-ca.pub"))
        .directory(tmp.resolve("sshd"))
        .start();
    return sshd.port();
  }

  /** The lines under "Principals:" in {@code ssh-keygen -L} output. */
  private static List<String> principals(String listing) {
    List<String> out = new ArrayList<>();
    boolean in = false;
    for (String line : listing.split("\n")) {
      String t = line.strip();
      if (t.startsWith("Principals:")) {
        in = true;
      } else if (in && line.startsWith("                ")) {
        out.add(t);
      } else if (in) {
        break;
      }
    }
    return out;
  }

  private static ServerProcesses.Result run(List<String> base, String target, String command)
      throws Exception {
    List<String> cmd = new ArrayList<>(base);
    cmd.add(target);
    cmd.add(command);
    return OpenSsh.run(cmd);
  }
}
