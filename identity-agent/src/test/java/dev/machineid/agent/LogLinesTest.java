package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class LogLinesTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir
  Path tmp;

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
    Path state = Files.createDirectory(
        tmp.resolve("state"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path config = AgentConfig.forBot(bot)
        .storage(state)
        .identityToMemory()
        .writeTo(tmp.resolve("agent.yaml"));

    String first = logOf("start", "-c", config.toString(), "--oneshot");
    String second = logOf("start", "-c", config.toString(), "--oneshot");

    assertThat(first)
        .contains("identity issued: bot '" + bot.name() + "'")
        .doesNotContain("identity restored");
    assertThat(second)
        .contains("identity restored from ")
        .contains("bot '" + bot.name() + "'")
        .doesNotContain("identity issued");
  }

  @Test
  void anOutputIsLoggedAfterItIsWrittenWithTheCredentialsSerial(Issuer issuer) throws Exception {
    issuer
        .roles()
        .create(new Role(
            "loglines-db",
            List.of(),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer.bots().create("loglines", List.of("loglines-db"), Map.of());
    TestBot bot = new TestBot(
        "loglines",
        issuer.tokens().create("loglines", Duration.ofMinutes(10)),
        issuer.url(),
        issuer.caPin());
    Path identity = tmp.resolve("identity");
    Path database = tmp.resolve("database");
    Path config = AgentConfig.forBot(bot)
        .identityTo(identity)
        .line(
            "outputs:\n  - type: database\n    roles: [loglines-db]\n    username: app\n    destination: {type: directory, path: \""
                + database + "\"}")
        .writeTo(tmp.resolve("agent.yaml"));
    // AgentConfig writes its own outputs: list after the extra lines; keep one list
    String yaml = Files.readString(config);
    int second = yaml.lastIndexOf("outputs:\n");
    yaml = yaml.substring(0, second) + yaml.substring(second + "outputs:\n".length());
    Files.writeString(config, yaml);

    String log = logOf("start", "-c", config.toString(), "--oneshot");

    String botSerial = Pems.leaf(identity.resolve("tlscert")).getSerialNumber().toString(16);
    String dbSerial = Pems.leaf(database.resolve("tls.crt")).getSerialNumber().toString(16);
    assertThat(dbSerial).isNotEqualTo(botSerial);
    List<String> lines =
        log.lines().filter(l -> l.contains("output ") && l.contains(" written")).toList();
    // each output says it was written once its files are in place, naming the serial of what it
    // wrote
    assertThat(lines)
        .anySatisfy(
            l -> assertThat(l).contains("output identity:").contains("serial=" + botSerial));
    assertThat(lines)
        .anySatisfy(l -> assertThat(l).contains("output database:").contains("serial=" + dbSerial));
    // and the database output is never reported as written with the bot's certificate
    assertThat(lines)
        .noneSatisfy(l -> assertThat(l).contains("output database:").contains(botSerial));
  }
}
