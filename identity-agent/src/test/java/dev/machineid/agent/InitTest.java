package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.CaPin;
import dev.machineid.testkit.Ci;
import dev.machineid.testkit.issuer.TestBot;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InitTest {
  private static final TestBot BOT = new TestBot(
      "init-bot",
      "0123456789abcdef0123",
      URI.create("https://127.0.0.1:1"),
      CaPin.parse("sha256:" + "ab".repeat(32)));

  @TempDir
  Path tmp;

  private Path config(Path... dirs) throws Exception {
    StringBuilder outputs = new StringBuilder("outputs:\n");
    for (Path d : dirs) {
      outputs
          .append("  - type: identity\n    destination: {type: directory, path: \"")
          .append(d)
          .append("\"}\n");
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
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(d)))
          .isEqualTo("rwx------");
      assertThat(run.out()).contains("prepared " + d);
    }
  }

  /** A group of its own, so that a destination left in its parent's (or the caller's) group cannot pass. */
  private static final String READER_GROUP = "machineid-init-readers";

  private static void readerGroupExists() throws Exception {
    if (!"root".equals(System.getProperty("user.name"))) {
      Ci.skipOrFail("this test creates the group " + READER_GROUP + ", which needs root");
    }
    String groupadd = Ci.tool("groupadd", "passwd");
    // a parallel run may have created it between the two commands: only its absence afterwards
    // fails
    if (command("getent", "group", READER_GROUP) != 0
        && command(groupadd, "--system", READER_GROUP) != 0) {
      assertThat(command("getent", "group", READER_GROUP))
          .as("groupadd %s", READER_GROUP)
          .isZero();
    }
  }

  private static int command(String... command) throws Exception {
    Process p = new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .start();
    if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(String.join(" ", command) + " did not finish in 30 s");
    }
    return p.exitValue();
  }

  @Test
  void initWithAReaderGroupLetsThatGroupReadTheOutputs() throws Exception {
    readerGroupExists();
    Path a = tmp.resolve("a");
    assertThat(Files.readAttributes(tmp, PosixFileAttributes.class).group().getName())
        .isNotEqualTo(READER_GROUP);

    Run run = Run.of("init", "-c", config(a).toString(), "--reader-group", READER_GROUP);

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(Files.readAttributes(a, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
            .group()
            .getName())
        .isEqualTo(READER_GROUP);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(a)))
        .isEqualTo("rwxr-x---");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("state"))))
        .isEqualTo("rwx------");
  }

  @Test
  void initRefusesASymlinkedDestination() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);

    Run run = Run.of("init", "-c", config(link).toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .contains(link.toString())
        .contains("symbolic link");
  }

  @Test
  void initNamesAnUnknownOwner() throws Exception {
    Run run =
        Run.of("init", "-c", config(tmp.resolve("a")).toString(), "--owner", "no-such-user-here");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .contains("no user named 'no-such-user-here'");
  }

  @Test
  void initRefusesAnExistingDirectoryOwnedByAnotherUserAndLeavesItAlone() throws Exception {
    Path squatted = Files.createDirectory(tmp.resolve("sq"));
    Files.writeString(squatted.resolve("tlscert"), "planted");
    Files.createSymbolicLink(squatted.resolve("..data"), Path.of("/etc"));
    Files.setPosixFilePermissions(squatted, PosixFilePermissions.fromString("rwxrwxrwx"));
    var nobody =
        squatted.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(squatted, nobody);

    Run run = Run.of("init", "-c", config(squatted).toString(), "--owner", "root");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains(squatted.toString()).contains("owned by nobody");
    assertThat(Files.getOwner(squatted)).as("not taken over").isEqualTo(nobody);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(squatted)))
        .isEqualTo("rwxrwxrwx");
  }

  @Test
  void initRefusesAnExistingDirectoryOthersCanWrite() throws Exception {
    Path open = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));

    Run run = Run.of("init", "-c", config(open).toString());

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains(open.toString()).contains("writable by others");
  }

  @Test
  void initRemovesAclEntriesFromAnExistingDirectory() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("acl"));
    Process set =
        new ProcessBuilder("setfacl", "-m", "u:nobody:rwx,d:u:nobody:rwx", dir.toString()).start();
    assertThat(set.waitFor()).isZero();
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));

    Run run = Run.of("init", "-c", config(dir).toString());

    assertThat(run.exitCode()).as(run.err()).isZero();
    Process get = new ProcessBuilder("getfacl", "-p", dir.toString())
        .redirectErrorStream(true)
        .start();
    String acl =
        new String(get.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(get.waitFor()).isZero();
    assertThat(acl).doesNotContain("nobody");
  }

  @Test
  void initAcceptsAParentInARootOwnedStickyDirectoryLikeStart() throws Exception {
    Path sticky = Files.createDirectory(tmp.resolve("sticky"));
    Process chmod = new ProcessBuilder("chmod", "1777", sticky.toString()).start();
    assertThat(chmod.waitFor()).isZero();
    Path dest = sticky.resolve("dest");

    Run run = Run.of("init", "-c", config(dest).toString());

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(dest).isDirectory();
  }
}
