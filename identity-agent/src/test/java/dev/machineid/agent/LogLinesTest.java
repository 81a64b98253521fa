package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.IssuerExtension;
import dev.machineid.testkit.TestBot;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class LogLinesTest {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir Path tmp;

  /** Runs the agent with System.err (where the simple logger writes) captured. */
  private static String logOf(String... args) {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream was = System.err;
    System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
    try {
      Run run = Run.of(args);
      assertThat(run.exitCode()).as(run.err()).isZero();
    } finally {
      System.setErr(was);
    }
    return log.toString(StandardCharsets.UTF_8);
  }

  @Test
  void startLogsRestoredOrIssued(TestBot bot) throws Exception {
    Path state = Files.createDirectory(tmp.resolve("state"), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path config = AgentConfig.forBot(bot).storage(state).identityToMemory().writeTo(tmp.resolve("agent.yaml"));

    String first = logOf("start", "-c", config.toString(), "--oneshot");
    String second = logOf("start", "-c", config.toString(), "--oneshot");

    assertThat(first).contains("identity issued: bot '" + bot.name() + "'").doesNotContain("identity restored");
    assertThat(second).contains("identity restored from ").contains("bot '" + bot.name() + "'")
        .doesNotContain("identity issued");
  }
}
