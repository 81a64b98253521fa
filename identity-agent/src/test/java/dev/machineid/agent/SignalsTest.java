package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The agent as a real process, started the way nohup starts it: with SIGHUP ignored. */
class SignalsTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir
  Path tmp;

  @Test
  void sighupReloadsWhenTheParentIgnoredIt(TestBot bot) throws Exception {
    Path state = tmp.resolve("state");
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Path config =
        AgentConfig.forBot(bot).storage(state).identityTo(a).writeTo(tmp.resolve("agent.yaml"));
    Path log = tmp.resolve("agent.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // the parent ignores SIGHUP and the agent inherits that, as under nohup
    Process agent = new ProcessBuilder(
            "/bin/sh",
            "-c",
            "trap '' HUP; exec \"$@\"",
            "sh",
            java,
            "-cp",
            System.getProperty("java.class.path"),
            Agent.class.getName(),
            "start",
            "-c",
            config.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(new File("/dev/null"))
        .start();
    try {
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> Files.exists(a.resolve("tlscert")) || !agent.isAlive());
      assertThat(agent.isAlive()).as(Files.readString(log)).isTrue();
      assertThat(ignoredSignals(agent.pid()))
          .as("the agent was started with SIGHUP ignored")
          .isNotNull();

      AgentConfig.forBot(bot).storage(state).identityTo(a).identityTo(b).writeTo(config);
      Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(agent.pid()))
          .inheritIO()
          .start();
      assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();

      await()
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> Files.exists(b.resolve("tlscert")) || !agent.isAlive());
      assertThat(agent.isAlive()).as(Files.readString(log)).isTrue();
      assertThat(b.resolve("tlscert")).as(Files.readString(log)).isNotEmptyFile();
      assertThat(Files.readString(log)).contains("reloaded " + config);
    } finally {
      agent.destroy();
      if (!agent.waitFor(30, TimeUnit.SECONDS)) {
        agent.destroyForcibly();
      }
    }
  }

  /** The SigIgn line of /proc/PID/status (Linux). */
  private static String ignoredSignals(long pid) throws Exception {
    List<String> status = Files.readAllLines(
        Path.of("/proc", Long.toString(pid), "status"), StandardCharsets.US_ASCII);
    return status.stream().filter(l -> l.startsWith("SigIgn:")).findFirst().orElse(null);
  }
}
