package dev.machineid.outputs.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.Role;
import dev.machineid.testkit.OpenSsh;
import dev.machineid.testkit.ServerProcesses;
import dev.machineid.testkit.SshServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5: a real sshd whose HostCertificate and TrustedUserCAKeys come from the {@code ssh_host}
 * output, and a real ssh client that uses the {@code ssh} output's {@code ssh_config}.
 */
class SshOutputsTest {
  @RegisterExtension
  static final dev.machineid.testkit.issuer.IssuerExtension ISSUER =
      dev.machineid.testkit.issuer.IssuerExtension.create();

  private static final String LOGIN = "mid-deploy";

  @TempDir
  Path tmp;

  @Test
  void sshLogsInWithTheOutputsAndSshdPresentsTheRenewedHostCertificateAfterReload()
      throws Exception {
    OpenSsh.tool("sshd");
    String ssh = OpenSsh.tool("ssh");
    String keyscan = OpenSsh.tool("ssh-keyscan");
    OpenSsh.ensureLoginUser(LOGIN);
    ISSUER
        .start()
        .roles()
        .create(new Role(
            "out-ssh",
            List.of(LOGIN),
            List.of(),
            List.of(),
            List.of(),
            List.of("localhost"),
            List.of(),
            false,
            null,
            null));
    Path user = tmp.resolve("ssh");
    Path host = tmp.resolve("host");
    Path sshdDir = tmp.resolve("sshd");
    Path pidFile = SshServer.pidFile(sshdDir);
    String reload = "if [ -f " + pidFile + " ]; then kill -HUP $(cat " + pidFile + "); fi";
    var hostOutput = FileOutputsTest.output(
        "ssh_host",
        Map.of(
            "type",
            "ssh_host",
            "roles",
            List.of("out-ssh"),
            "host_names",
            List.of("localhost"),
            "reload",
            reload),
        host);
    try (MachineIdentity id = FileOutputsTest.start(
        ISSUER,
        List.of("out-ssh"),
        FileOutputsTest.output(
            "ssh",
            Map.of("type", "ssh", "roles", List.of("out-ssh"), "logins", List.of(LOGIN)),
            user),
        hostOutput)) {
      assertThat(FileOutputsTest.mode(user, "key")).isEqualTo("rw-------");
      assertThat(FileOutputsTest.mode(host, "ssh_host")).isEqualTo("rw-------");
      try (SshServer sshd = SshServer.builder()
          .hostKey(host.resolve("ssh_host"))
          .hostCertificate(host.resolve("ssh_host-cert.pub"))
          .trustedUserCaKeys(host.resolve("ssh_host-user-ca.pub"))
          .directory(sshdDir)
          .start()) {
        int port = sshd.port();

        List<String> base = List.of(
            ssh,
            "-4",
            "-F",
            user.resolve("ssh_config").toString(),
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-p",
            String.valueOf(port));
        ServerProcesses.Result ok = await("ssh login")
            .atMost(Duration.ofSeconds(10))
            .until(() -> run(base, LOGIN + "@localhost", "id -un"), r -> r.exitCode() == 0);
        assertThat(ok.output()).contains(LOGIN);

        // a login outside the role: the certificate does not name it, so sshd refuses it
        ServerProcesses.Result refused = run(base, "root@localhost", "id -un");
        assertThat(refused.exitCode()).isNotZero();
        assertThat(refused.output()).contains("Permission denied");

        // renewal: the hook sends SIGHUP and sshd presents the new host certificate
        String before = blob(Files.readString(host.resolve("ssh_host-cert.pub")));
        assertThat(scan(keyscan, port)).contains(before);
        id.renewNow().join();
        // the host certificate is renewed on its own schedule (a bot renewal does not issue it
        // again): refresh it now
        dev.machineid.core.CredentialHandle.lookup(
                ((CredentialOutput) hostOutput).request().orElseThrow().name())
            .orElseThrow()
            .refreshNow()
            .join();
        await("new host certificate written")
            .atMost(Duration.ofSeconds(20))
            .until(
                () -> !blob(Files.readString(host.resolve("ssh_host-cert.pub"))).equals(before));
        String after = blob(Files.readString(host.resolve("ssh_host-cert.pub")));
        await("sshd presents the new host certificate")
            .atMost(Duration.ofSeconds(20))
            .until(() -> scan(keyscan, port).contains(after));
        await("ssh login after renewal")
            .atMost(Duration.ofSeconds(10))
            .until(() -> run(base, LOGIN + "@localhost", "true").exitCode() == 0);
      }
    }
  }

  private static ServerProcesses.Result run(List<String> base, String target, String command)
      throws Exception {
    List<String> cmd = new java.util.ArrayList<>(base);
    cmd.add(target);
    cmd.add(command);
    return OpenSsh.run(cmd);
  }

  private static String scan(String keyscan, int port) throws Exception {
    return OpenSsh.run(List.of(keyscan, "-c", "-p", String.valueOf(port), "127.0.0.1"))
        .output();
  }

  private static String blob(String certLine) {
    return certLine.strip().split("\\s+")[1];
  }
}
