package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.TestBot;
import dev.machineid.core.CaPin;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitTest {
  private static final TestBot BOT =
      new TestBot("init-bot", "0123456789abcdef0123", URI.create("https://127.0.0.1:1"), CaPin.parse("sha256:" + "ab".repeat(32)));

  @TempDir Path tmp;

  private Path config(Path... dirs) throws Exception {
    StringBuilder outputs = new StringBuilder("outputs:\n");
    for (Path d : dirs) {
      outputs.append("  - type: identity\n    destination: {type: directory, path: \"").append(d).append("\"}\n");
    }
    String yaml = AgentConfig.forBot(BOT).storage(tmp.resolve("state")).yaml() + outputs;
    return Files.writeString(tmp.resolve("agent.yaml"), yaml);
  }

  @Test
  void initCreatesEveryDirectoryDestinationAndTheStoragePrivateToTheOwner() throws Exception {
    Path a = tmp.resolve("out/a");
    Path b = tmp.resolve("out/b");

    Run run = Run.of("init", "-c", config(a, b).toString());

    assertThat(run.exitCode()).as(run.err()).isZero();
    for (Path d : new Path[] {a, b, tmp.resolve("state")}) {
      assertThat(d).isDirectory();
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d))).isEqualTo("rwx------");
      assertThat(run.out()).contains("prepared " + d);
    }
  }

  @Test
  void initWithAReaderGroupLetsThatGroupReadTheOutputs() throws Exception {
    Path a = tmp.resolve("a");
    String group = Files.readAttributes(tmp, java.nio.file.attribute.PosixFileAttributes.class).group().getName();

    Run run = Run.of("init", "-c", config(a).toString(), "--reader-group", group);

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(a))).isEqualTo("rwxr-x---");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("state")))).isEqualTo("rwx------");
  }

  @Test
  void initRefusesASymlinkedDestination() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);

    Run run = Run.of("init", "-c", config(link).toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.errLines()).singleElement().asString().contains(link.toString()).contains("symbolic link");
  }

  @Test
  void initNamesAnUnknownOwner() throws Exception {
    Run run = Run.of("init", "-c", config(tmp.resolve("a")).toString(), "--owner", "no-such-user-here");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.errLines()).singleElement().asString().contains("no user named 'no-such-user-here'");
  }
}
