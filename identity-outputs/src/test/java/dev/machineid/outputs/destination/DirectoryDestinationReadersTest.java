package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.IdentityException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code reader_user} / {@code reader_group} with the real tools: POSIX ACLs written by
 * {@code setfacl} and read back with {@code getfacl}, and reads attempted as other users through
 * {@code runuser}. The users and the group are created here ({@code useradd}, {@code groupadd}), so
 * the tests need root; like every test of a tool that only CI installs, they skip where a tool (or
 * root) is missing and fail instead under {@code CI=true}.
 */
class DirectoryDestinationReadersTest {
  private static final String READER = "mid-acl-reader";
  private static final String MEMBER = "mid-acl-member";
  private static final String OUTSIDER = "mid-acl-outsider";
  private static final String GROUP = "mid-acl-readers";

  @TempDir
  Path tmp;

  @BeforeAll
  static void usersAndGroup() throws Exception {
    require("getfacl", "acl");
    require("setfacl", "acl");
    require("runuser", "util-linux");
    require("useradd", "passwd");
    if (!"root".equals(System.getProperty("user.name"))) {
      skipOrFail("these tests create users and read as them, which needs root");
    }
    if (run("getent", "group", GROUP).exit() != 0) {
      runOk("groupadd", "--system", GROUP);
    }
    for (String user : List.of(READER, MEMBER, OUTSIDER)) {
      if (run("id", "-u", user).exit() != 0) {
        runOk("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user);
      }
    }
    runOk("usermod", "-a", "-G", GROUP, MEMBER);
  }

  @BeforeEach
  void traversableTemp() throws IOException {
    // @TempDir is 0700: let the other users reach the destination, so only its own permissions
    // decide
    Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx--x--x"));
  }

  private static Map<String, byte[]> files(String tag) {
    return Map.of(
        "key",
        ("key-" + tag).getBytes(StandardCharsets.US_ASCII),
        "tlscert",
        ("cert-" + tag).getBytes(StandardCharsets.US_ASCII));
  }

  private static String mode(Path p) throws IOException {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  private static String group(Path p) throws IOException {
    return Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
        .group()
        .getName();
  }

  private static Path version(Path dir) throws IOException {
    return dir.resolve(Files.readSymbolicLink(dir.resolve(DirectoryDestination.DATA)));
  }

  private static String getfacl(Path p) throws Exception {
    Result r = runOk("getfacl", "-p", p.toString());
    return r.output();
  }

  private static Result readAs(String user, Path file) throws Exception {
    return run("runuser", "-u", user, "--", "cat", file.toString());
  }

  @Test
  void readersGetAclsOnKeysAndDirectoriesAndCanReadWhileOthersCannot() throws Exception {
    Path dir = tmp.resolve("acl");
    DirectoryDestination d =
        DirectoryDestination.builder(dir).readerUser(READER).readerGroup(GROUP).build();
    d.write(files("1"));

    Path version = version(dir);
    String keyAcl = getfacl(version.resolve("key"));
    // inherited from the destination's default ACL: r-x, and the file's mask makes it read-only
    assertThat(keyAcl)
        .containsPattern("user:" + READER + ":r-x\\s+#effective:r--")
        .containsPattern("group:" + GROUP + ":r-x\\s+#effective:r--")
        .contains("mask::r--")
        .containsPattern("group::---")
        .contains("other::---")
        .contains("user::rw-");
    for (Path traversed : List.of(dir, version)) {
      assertThat(getfacl(traversed))
          .as(traversed.toString())
          .contains("user:" + READER + ":r-x")
          .contains("group:" + GROUP + ":r-x")
          .contains("other::---");
    }
    assertThat(getfacl(version.resolve("tlscert")))
        .containsPattern("user:" + READER + ":r-x\\s+#effective:r--");

    assertThat(readAs(READER, dir.resolve("key"))).isEqualTo(new Result(0, "key-1"));
    assertThat(readAs(MEMBER, dir.resolve("key")))
        .as("a member of the reader group")
        .isEqualTo(new Result(0, "key-1"));
    Result outsider = readAs(OUTSIDER, dir.resolve("key"));
    assertThat(outsider.exit()).isNotZero();
    assertThat(outsider.output()).contains("Permission denied");

    // a renewal's new version directory is granted too
    d.write(files("2"));
    assertThat(version(dir)).isNotEqualTo(version);
    assertThat(readAs(READER, dir.resolve("key"))).isEqualTo(new Result(0, "key-2"));
    assertThat(readAs(OUTSIDER, dir.resolve("key")).exit()).isNotZero();
  }

  @Test
  void aDestinationDirectoryMadeBeforehandIsOpenedToTheReaderOnWrite() throws Exception {
    // as `agent init` without --reader-group leaves it
    Path dir = Files.createDirectory(
        tmp.resolve("pre"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));

    DirectoryDestination.builder(dir).readerUser(READER).build().write(files("1"));

    assertThat(getfacl(dir)).contains("user:" + READER + ":r-x");
    assertThat(readAs(READER, dir.resolve("key"))).isEqualTo(new Result(0, "key-1"));
    assertThat(readAs(MEMBER, dir.resolve("key")).exit())
        .as("the group was not named")
        .isNotZero();
  }

  @Test
  void foreignAclEntriesOnTheDestinationAreRemovedNotActivatedWhenReadersAreGranted()
      throws Exception {
    // a masked entry (mode 0700 passes the checks) and a default entry another user left beforehand
    Path dir = Files.createDirectory(
        tmp.resolve("foreign"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    runOk("setfacl", "-m", "u:" + OUTSIDER + ":rwx,d:u:" + OUTSIDER + ":rwx", dir.toString());
    runOk("chmod", "700", dir.toString());

    DirectoryDestination.builder(dir).readerGroup(GROUP).build().write(files("1"));

    assertThat(getfacl(dir)).doesNotContain(OUTSIDER).contains("group:" + GROUP + ":r-x");
    assertThat(getfacl(version(dir).resolve("key"))).doesNotContain(OUTSIDER);
    assertThat(readAs(OUTSIDER, dir.resolve("key")).exit())
        .as("the key stays closed to the outsider")
        .isNotZero();
    assertThat(
            run("runuser", "-u", OUTSIDER, "--", "touch", dir.resolve("planted").toString())
                .exit())
        .as("nor can the outsider write into the destination")
        .isNotZero();
    assertThat(readAs(MEMBER, dir.resolve("key"))).isEqualTo(new Result(0, "key-1"));
  }

  @Test
  void withoutSetfaclAReaderGroupGetsGroupPermissionsAndAWarning() throws Exception {
    Path noTools = Files.createDirectory(tmp.resolve("no-tools")); // a PATH without setfacl
    Path dir = tmp.resolve("group");
    String logs = capturingStandardError(() -> DirectoryDestination.builder(dir)
        .readerGroup(GROUP)
        .toolSearchPath(List.of(noTools))
        .build()
        .write(files("1")));

    assertThat(logs)
        .contains("WARN")
        .contains("setfacl not found in [" + noTools + "]")
        .contains("group " + GROUP + " read access through group ownership and permissions");
    Path version = version(dir);
    assertThat(mode(version.resolve("key"))).isEqualTo("rw-r-----");
    assertThat(mode(version.resolve("tlscert"))).isEqualTo("rw-r--r--");
    assertThat(mode(version)).isEqualTo("rwxr-x---");
    assertThat(mode(dir)).isEqualTo("rwxr-x---");
    for (Path p : List.of(dir, version, version.resolve("key"), version.resolve("tlscert"))) {
      assertThat(group(p)).as(p.toString()).isEqualTo(GROUP);
    }
    assertThat(getfacl(version.resolve("key")))
        .as("no ACL entries were made")
        .doesNotContain("user:" + READER)
        .doesNotContain("group:" + GROUP + ":");

    assertThat(readAs(MEMBER, dir.resolve("key"))).isEqualTo(new Result(0, "key-1"));
    assertThat(readAs(OUTSIDER, dir.resolve("key")).exit()).isNotZero();
  }

  @Test
  void withoutSetfaclAReaderUserIsWarnedThatItGetsNoAccess() throws Exception {
    Path noTools = Files.createDirectory(tmp.resolve("no-tools"));
    Path dir = tmp.resolve("user");
    String logs = capturingStandardError(() -> DirectoryDestination.builder(dir)
        .readerUser(READER)
        .toolSearchPath(List.of(noTools))
        .build()
        .write(files("1")));

    assertThat(logs)
        .contains("WARN")
        .contains("setfacl not found")
        .contains("reader_user " + READER + " gets NO access");
    assertThat(mode(version(dir).resolve("key"))).isEqualTo("rw-------");
    assertThat(mode(dir)).isEqualTo("rwx------");
    assertThat(readAs(READER, dir.resolve("key")).exit()).isNotZero();
  }

  @Test
  void filesGetTheReadersAclWhenCreatedAndNoAclIsSetThroughAPath() throws Exception {
    // a root-only file elsewhere on the machine
    Path elsewhere = Files.createDirectory(
        tmp.resolve("elsewhere"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path rootsKey = Files.writeString(elsewhere.resolve("key"), "root's own key");
    Files.setPosixFilePermissions(rootsKey, PosixFilePermissions.fromString("rw-------"));
    Path dir = tmp.resolve("acl");
    String[] aclWhenCreated = new String[1];
    DirectoryDestination d = DirectoryDestination.builder(dir)
        .readerUser(READER)
        .hook((point, p) -> {
          if (point == DirectoryDestination.Point.FILE_CREATED
              && p.getFileName().toString().equals("key")) {
            try {
              aclWhenCreated[0] = getfacl(p);
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
            // swapped for a link to root's key: a setfacl through this path would open root's key
            // to the reader
            Files.move(p, p.resolveSibling("moved-key"));
            Files.createSymbolicLink(p, rootsKey);
          }
        })
        .build();

    assertThatThrownBy(() -> d.write(files("1")))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining("replaced");

    assertThat(aclWhenCreated[0])
        .as("the key had the reader's entry from its creation")
        .containsPattern("user:" + READER + ":r-x\\s+#effective:r--");
    assertThat(getfacl(rootsKey)).doesNotContain(READER);
    assertThat(mode(rootsKey)).isEqualTo("rw-------");
    assertThat(readAs(READER, rootsKey).exit()).isNotZero();
  }

  // ------------------------------------------------------------------ helpers

  private static String capturingStandardError(Runnable action) {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      action.run();
    } finally {
      System.setErr(original);
    }
    String logs = captured.toString(StandardCharsets.UTF_8);
    original.print(logs);
    return logs;
  }

  record Result(int exit, String output) {}

  private static Result run(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("timed out: " + String.join(" ", cmd));
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private static Result runOk(String... cmd) throws IOException, InterruptedException {
    Result r = run(cmd);
    if (r.exit() != 0) {
      throw new IllegalStateException(
          String.join(" ", cmd) + " exited " + r.exit() + ": " + r.output());
    }
    return r;
  }

  private static void require(String tool, String pkg) {
    for (String dir :
        System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
        return;
      }
    }
    skipOrFail(tool + " not found; install it (apt-get install -y " + pkg + ")");
  }

  private static void skipOrFail(String message) {
    dev.machineid.testkit.Ci.skipOrFail(message);
  }
}
