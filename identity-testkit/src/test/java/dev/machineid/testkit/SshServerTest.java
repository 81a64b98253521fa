package dev.machineid.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SshServerTest {
  private static final String LOGIN = "machineid-sshfix";

  @TempDir
  Path dir;

  @Test
  void aCertificateFromTheTrustedUserCaLogsInAndOneForAnotherPrincipalIsRefused() throws Exception {
    Ci.require(ServerProcesses.isRoot(), "sshd logins as " + LOGIN + " need root");
    OpenSsh.ensureLoginUser(LOGIN);
    String keygen = OpenSsh.tool("ssh-keygen");
    Path hostCa = OpenSsh.keygen(dir, "host_ca", "ed25519", 0);
    Path userCa = OpenSsh.keygen(dir, "user_ca", "ed25519", 0);
    Path hostKey = OpenSsh.keygen(dir, "ssh_host_ed25519_key", "ed25519", 0);
    OpenSsh.runOk(List.of(
        keygen,
        "-q",
        "-s",
        hostCa.toString(),
        "-h",
        "-I",
        "test-host",
        "-n",
        "127.0.0.1",
        "-V",
        "-1m:+1h",
        hostKey + ".pub"));
    Path allowed = OpenSsh.keygen(dir, "id_allowed", "ed25519", 0);
    OpenSsh.runOk(List.of(
        keygen,
        "-q",
        "-s",
        userCa.toString(),
        "-I",
        "allowed",
        "-n",
        LOGIN,
        "-V",
        "-1m:+1h",
        allowed + ".pub"));
    Path other = OpenSsh.keygen(dir, "id_other", "ed25519", 0);
    OpenSsh.runOk(List.of(
        keygen,
        "-q",
        "-s",
        userCa.toString(),
        "-I",
        "other",
        "-n",
        "someone-else",
        "-V",
        "-1m:+1h",
        other + ".pub"));

    SshServer sshd = SshServer.builder()
        .hostKey(hostKey)
        .hostCertificate(Path.of(hostKey + "-cert.pub"))
        .trustedUserCaKeys(Path.of(userCa + ".pub"))
        .logLevel("VERBOSE")
        .start();
    Path serverDir = sshd.directory();
    try (sshd) {
      Path knownHosts = Files.writeString(
          dir.resolve("known_hosts"),
          "@cert-authority [127.0.0.1]:" + sshd.port() + " "
              + Files.readString(Path.of(hostCa + ".pub")));
      assertThat(Files.readString(sshd.pidFile()).strip()).isEqualTo(Long.toString(sshd.pid()));

      ServerProcesses.Result ok = ssh(allowed, knownHosts, sshd.port(), "id -un");
      assertThat(ok.exitCode()).as(ok.output() + sshd.log()).isZero();
      assertThat(ok.output().strip()).isEqualTo(LOGIN);
      assertThat(sshd.log()).contains("Accepted publickey for " + LOGIN).contains("ID allowed");

      ServerProcesses.Result refused = ssh(other, knownHosts, sshd.port(), "true");
      assertThat(refused.exitCode()).as(refused.output()).isEqualTo(255);
      assertThat(refused.output()).contains("Permission denied");
      assertThat(sshd.log()).contains("name is not a listed principal");

      sshd.reload();
      assertThat(ProcessHandle.of(sshd.pid()))
          .hasValueSatisfying(p -> assertThat(p.isAlive()).isTrue());
    }
    assertThat(ProcessHandle.of(sshd.pid()).map(ProcessHandle::isAlive).orElse(false))
        .isFalse();
    assertThat(serverDir).doesNotExist();
    assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), sshd.port()).close())
        .isInstanceOf(IOException.class);
  }

  @Test
  void withAnAuthorizedPrincipalsFileTheCertificateMustNameAListedPrincipalInsteadOfTheLogin()
      throws Exception {
    Ci.require(ServerProcesses.isRoot(), "sshd logins as " + LOGIN + " need root");
    OpenSsh.ensureLoginUser(LOGIN);
    String keygen = OpenSsh.tool("ssh-keygen");
    Path hostKey = OpenSsh.keygen(dir, "ssh_host_ed25519_key", "ed25519", 0);
    Path userCa = OpenSsh.keygen(dir, "user_ca", "ed25519", 0);
    Path team = OpenSsh.keygen(dir, "id_team", "ed25519", 0);
    OpenSsh.runOk(List.of(
        keygen,
        "-q",
        "-s",
        userCa.toString(),
        "-I",
        "team",
        "-n",
        "team-deploy",
        "-V",
        "-1m:+1h",
        team + ".pub"));
    Path login = OpenSsh.keygen(dir, "id_login", "ed25519", 0);
    OpenSsh.runOk(List.of(
        keygen,
        "-q",
        "-s",
        userCa.toString(),
        "-I",
        "login",
        "-n",
        LOGIN,
        "-V",
        "-1m:+1h",
        login + ".pub"));
    // sshd reads the principals file as the login user
    Files.setPosixFilePermissions(
        dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    Path principals = Files.createDirectories(dir.resolve("principals"));
    Files.writeString(principals.resolve(LOGIN), "team-deploy\n");
    Path knownHosts = dir.resolve("known_hosts");

    try (SshServer sshd = SshServer.builder()
        .hostKey(hostKey)
        .trustedUserCaKeys(Path.of(userCa + ".pub"))
        .authorizedPrincipalsFile(principals + "/%u")
        .directory(dir.resolve("sshd"))
        .start()) {
      Files.writeString(
          knownHosts,
          "[127.0.0.1]:" + sshd.port() + " " + Files.readString(Path.of(hostKey + ".pub")));

      ServerProcesses.Result ok = ssh(team, knownHosts, sshd.port(), "id -un");
      assertThat(ok.exitCode()).as(ok.output() + sshd.log()).isZero();
      assertThat(ssh(login, knownHosts, sshd.port(), "true").exitCode()).isEqualTo(255);
    }
    assertThat(dir.resolve("sshd")).as("a given directory is kept").isDirectory();
  }

  @Test
  void aServerWithoutAHostKeyIsRefusedBeforeAnythingStarts() {
    assertThatThrownBy(() -> SshServer.builder().start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("hostKey");
    assertThatThrownBy(() -> SshServer.builder().logLevel("LOUD"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SshServer.builder().config("A\nB"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static ServerProcesses.Result ssh(Path key, Path knownHosts, int port, String command) {
    return OpenSsh.run(List.of(
        OpenSsh.tool("ssh"),
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
        "UserKnownHostsFile=" + knownHosts,
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
}
