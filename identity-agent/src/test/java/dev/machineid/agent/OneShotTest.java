package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.BotInstance;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class OneShotTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir
  Path tmp;

  @Test
  void oneShotExitsZeroWithEveryOutputWrittenAndReportsItselfAsOneShot(TestBot bot, Issuer issuer)
      throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Path config = AgentConfig.forBot(bot)
        .identityTo(a)
        .identityTo(b)
        .identityToMemory()
        .writeTo(tmp.resolve("agent.yaml"));

    Run run = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out()).contains("wrote 3 outputs").contains(a.toString()).contains(b.toString());
    for (Path dir : List.of(a, b)) {
      assertThat(dir.resolve("tlscert")).isNotEmptyFile();
      assertThat(dir.resolve("key")).content().startsWith("-----BEGIN PRIVATE KEY-----");
      assertThat(java.nio.file.Files.getPosixFilePermissions(dir.resolve("key")))
          .containsExactlyInAnyOrder(
              java.nio.file.attribute.PosixFilePermission.OWNER_READ,
              java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
      assertThat(dir.resolve("tlscacerts")).isNotEmptyFile();
      assertThat(Pems.leaf(dir.resolve("tlscert")).getSubjectX500Principal().getName())
          .contains(bot.name());
    }
    // the heartbeat is sent before start() returns in one-shot mode
    List<BotInstance> instances = issuer.instances().list(bot.name());
    assertThat(instances).hasSize(1);
    assertThat(instances.get(0).latestHeartbeat()).isNotNull();
    assertThat(instances.get(0).latestHeartbeat().oneShot()).isTrue();
    assertThat(instances.get(0).latestHeartbeat().outputs()).hasSize(3).containsValue("ok");
  }

  @Test
  void identityOutputAloneWritesTheBotsSshLoginFilesAndThenRunsItsReloadHook(Issuer issuer)
      throws Exception {
    issuer
        .roles()
        .create(new Role(
            "oneshot-ssh",
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
        .bots()
        .create("oneshot-ssh", List.of("oneshot-ssh"), Map.of("logins", List.of("deploy")));
    TestBot bot = new TestBot(
        "oneshot-ssh",
        issuer.tokens().create("oneshot-ssh", Duration.ofMinutes(10)),
        issuer.url(),
        issuer.caPin());
    Path out = tmp.resolve("identity");
    Path marker = tmp.resolve("reloaded");
    // the hook copies the certificate it finds: it ran after the files were written
    Path config = AgentConfig.forBot(bot)
        .identityTo(out, "cat " + out.resolve("key-cert.pub") + " > " + marker)
        .writeTo(tmp.resolve("agent.yaml"));

    Run run = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(run.exitCode()).as(run.err()).isZero();
    for (String f :
        List.of("tlscert", "key", "tlscacerts", "key-cert.pub", "ssh_config", "known_hosts")) {
      assertThat(out.resolve(f)).as(f).isNotEmptyFile();
    }
    assertThat(out.resolve("key-cert.pub"))
        .content()
        .startsWith("ecdsa-sha2-nistp256-cert-v01@openssh.com ");
    assertThat(out.resolve("ssh_config"))
        .content()
        .contains("CertificateFile \"" + out.resolve("key-cert.pub") + "\"")
        .contains("StrictHostKeyChecking yes");
    assertThat(out.resolve("known_hosts")).content().startsWith("@cert-authority * ");
    assertThat(marker).hasSameTextualContentAs(out.resolve("key-cert.pub"));
  }

  @Test
  void directoriesPreparedByInitAreAcceptedByTheDirectoryDestination(TestBot bot) throws Exception {
    Path out = tmp.resolve("prepared");
    Path config = AgentConfig.forBot(bot)
        .storage(tmp.resolve("state"))
        .identityTo(out)
        .writeTo(tmp.resolve("agent.yaml"));

    Run init = Run.of("init", "-c", config.toString());
    Run once = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(init.exitCode()).as(init.err()).isZero();
    assertThat(once.exitCode()).as(once.err()).isZero();
    assertThat(out.resolve("tlscert")).isNotEmptyFile();
    assertThat(tmp.resolve("state")).isNotEmptyDirectory();
  }

  @Test
  void aSquattedDestinationIsRefusedBeforeTheTokenIsSpent(TestBot bot, Issuer issuer)
      throws Exception {
    Path out = Files.createDirectory(tmp.resolve("out"));
    Files.setOwner(
        out, out.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
    Path config = AgentConfig.forBot(bot).identityTo(out).writeTo(tmp.resolve("agent.yaml"));

    Run run = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(run.exitCode()).isNotZero();
    assertThat(run.err()).contains("owned by nobody");
    assertThat(issuer.instances().list(bot.name())).as("the agent did not join").isEmpty();
  }

  @Test
  void oneShotSetInTheConfigFileRunsOnce(TestBot bot) throws Exception {
    Path out = tmp.resolve("out");
    Path config = AgentConfig.forBot(bot)
        .identityTo(out)
        .line("oneshot: true")
        .writeTo(tmp.resolve("agent.yaml"));

    Run run = Run.of("start", "-c", config.toString());

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(out.resolve("tlscert")).isNotEmptyFile();
  }

  @Test
  void oneShotWithARefusedTokenExitsOneWithOneLineSayingWhy(TestBot bot) throws Exception {
    TestBot wrong = new TestBot(bot.name(), "not-the-token-0123456789", bot.issuer(), bot.caPin());
    Path config =
        AgentConfig.forBot(wrong).identityTo(tmp.resolve("x")).writeTo(tmp.resolve("agent.yaml"));

    Run run = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.errLines()).hasSize(1);
    assertThat(run.errLines().get(0)).startsWith("machineid-agent: ").contains("refused");
    assertThat(Files.exists(tmp.resolve("x").resolve("tlscert"))).isFalse();
  }
}
