package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.IdentityException;
import dev.machineid.core.output.DestinationProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryDestinationTest {
  @TempDir
  Path tmp;

  private static Map<String, byte[]> files(String tag) {
    return Map.of(
        "key",
        ("key-" + tag).getBytes(StandardCharsets.US_ASCII),
        "tlscert",
        ("cert-" + tag).getBytes(StandardCharsets.US_ASCII));
  }

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void filesAreLinksThroughADataSymlinkToAVersionedDirectoryWithKeysOwnerOnly() throws Exception {
    Path dir = tmp.resolve("out");
    DirectoryDestination d = DirectoryDestination.of(dir);
    d.write(files("1"));

    Path data = dir.resolve("..data");
    assertThat(Files.isSymbolicLink(data)).isTrue();
    assertThat(Files.readSymbolicLink(data).toString())
        .matches("\\.\\.\\d{4}_\\d\\d_\\d\\d_\\d\\d_\\d\\d_\\d\\d\\.\\d{9}");
    assertThat(Files.readSymbolicLink(dir.resolve("key"))).isEqualTo(Path.of("..data/key"));
    assertThat(Files.readString(dir.resolve("key"))).isEqualTo("key-1");
    Path version = dir.resolve(Files.readSymbolicLink(data));
    assertThat(mode(version.resolve("key"))).isEqualTo("rw-------");
    assertThat(mode(version.resolve("tlscert"))).isEqualTo("rw-r--r--");
    assertThat(mode(version)).isEqualTo("rwx------");
    assertThat(mode(dir)).isEqualTo("rwx------");
    assertThat(d.read()).containsOnlyKeys("key", "tlscert");
  }

  @Test
  void eachWriteSwapsTheWholeSetAndKeepsOnlyThePreviousVersion() throws Exception {
    Path dir = tmp.resolve("out");
    DirectoryDestination d = DirectoryDestination.of(dir);
    for (int i = 0; i < 5; i++) {
      d.write(files(String.valueOf(i)));
    }
    assertThat(Files.readString(dir.resolve("key"))).isEqualTo("key-4");
    assertThat(Files.readString(dir.resolve("tlscert"))).isEqualTo("cert-4");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\.\\.\\d.*")))
          .hasSize(2);
    }
    // a file the output no longer writes disappears with the swap
    d.write(Map.of("key", new byte[] {1}));
    assertThat(dir.resolve("tlscert")).doesNotExist();
    assertThat(Files.exists(dir.resolve("tlscert"), LinkOption.NOFOLLOW_LINKS)).isFalse();
  }

  @Test
  void symlinkedDestinationIsRefused() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
    DirectoryDestination d = DirectoryDestination.of(link);
    assertThatThrownBy(() -> d.write(files("1")))
        .isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining("symbolic link");
    try (Stream<Path> s = Files.list(real)) {
      assertThat(s).isEmpty();
    }
  }

  @Test
  void worldWritableDestinationIsRefused() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> DirectoryDestination.of(dir).write(files("1")))
        .isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining("world-writable");
  }

  // ------------------------------------------------- paths another user can change

  private static UserPrincipal nobody(Path p) throws Exception {
    return p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
  }

  /** A root-only directory elsewhere on the machine, with a root-only 0600 file in it. */
  private Path rootOnlyElsewhere() throws Exception {
    Path outside = Files.createDirectory(
        tmp.resolve("elsewhere"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path secret = Files.writeString(outside.resolve("key"), "root's own key");
    Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
    Files.writeString(outside.resolve("tlscert"), "root's own cert");
    Files.setPosixFilePermissions(
        outside.resolve("tlscert"), PosixFilePermissions.fromString("rw-------"));
    return outside;
  }

  private static void assertUntouched(Path outside) throws Exception {
    try (Stream<Path> s = Files.list(outside)) {
      assertThat(s.map(p -> p.getFileName().toString()))
          .containsExactlyInAnyOrder("key", "tlscert");
    }
    assertThat(Files.readString(outside.resolve("key"))).isEqualTo("root's own key");
    assertThat(Files.readString(outside.resolve("tlscert"))).isEqualTo("root's own cert");
    assertThat(mode(outside.resolve("key"))).isEqualTo("rw-------");
    assertThat(mode(outside.resolve("tlscert"))).isEqualTo("rw-------");
    assertThat(mode(outside)).isEqualTo("rwx------");
  }

  /** Replaces {@code p} with a symbolic link to {@code target}, moving what was there aside. */
  private static void swapForLink(Path p, Path target) throws java.io.IOException {
    Files.move(p, p.resolveSibling("moved-" + p.getFileName()), StandardCopyOption.ATOMIC_MOVE);
    Files.createSymbolicLink(p, target);
  }

  @Test
  void destinationInAGroupWritableDirectoryIsRefused() throws Exception {
    Path shared = Files.createDirectory(tmp.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
    Path dir = shared.resolve("out");

    assertThatThrownBy(() -> DirectoryDestination.of(dir).write(files("1")))
        .isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining(shared + " is group-writable");
    assertThat(dir).doesNotExist();
  }

  @Test
  void destinationOwnedByAnotherUserIsRefused() throws Exception {
    Path dir = Files.createDirectory(
        tmp.resolve("out"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Files.setOwner(dir, nobody(dir));

    assertThatThrownBy(() -> DirectoryDestination.of(dir).write(files("1")))
        .isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining("owned by nobody");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s).isEmpty();
    }
  }

  @Test
  void destinationReachedThroughASymlinkedParentIsRefused() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);

    assertThatThrownBy(() -> DirectoryDestination.of(link.resolve("out")).write(files("1")))
        .isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining(link + " is a symbolic link");
    try (Stream<Path> s = Files.list(real)) {
      assertThat(s).isEmpty();
    }
  }

  @Test
  void aSymlinkSwapDuringWriteTouchesNothingOutside() throws Exception {
    Path outside = rootOnlyElsewhere();
    Path dir = tmp.resolve("out");
    DirectoryDestination.of(dir).write(files("1"));
    Path before = Files.readSymbolicLink(dir.resolve(DirectoryDestination.DATA));
    DirectoryDestination d = DirectoryDestination.builder(dir)
        .hook((point, p) -> {
          if (point == DirectoryDestination.Point.VERSION_CREATED) {
            swapForLink(p, outside); // the new version directory now leads elsewhere
          }
        })
        .build();

    assertThatThrownBy(() -> d.write(files("2"))).isInstanceOf(IdentityException.class);

    assertUntouched(outside);
    assertThat(Files.readSymbolicLink(dir.resolve(DirectoryDestination.DATA)))
        .as("..data still points at the last " + "good version")
        .isEqualTo(before);
    assertThat(Files.readString(dir.resolve("key"))).isEqualTo("key-1");
  }

  @Test
  void aSymlinkSwapBeforeOldVersionRemovalRemovesNothingOutside() throws Exception {
    Path outside = rootOnlyElsewhere();
    Path dir = tmp.resolve("out");
    DirectoryDestination.of(dir).write(files("1"));
    DirectoryDestination.of(dir).write(files("2"));
    List<Path> removing = new ArrayList<>();
    DirectoryDestination d = DirectoryDestination.builder(dir)
        .hook((point, p) -> {
          if (point == DirectoryDestination.Point.REMOVING_OLD_VERSION) {
            removing.add(p);
            swapForLink(p, outside); // the old version to remove now leads elsewhere
          }
        })
        .build();

    d.write(files("3"));

    assertThat(removing).as("the hook ran").hasSize(1);
    assertUntouched(outside);
    assertThat(Files.readString(dir.resolve("key"))).isEqualTo("key-3");
  }

  @Test
  void keysAreCreatedWithTheirFinalMode() throws Exception {
    Path outside = rootOnlyElsewhere();
    Path dir = tmp.resolve("out");
    Map<String, String> modesWhenCreated = new TreeMap<>();
    DirectoryDestination d = DirectoryDestination.builder(dir)
        .hook((point, p) -> {
          if (point == DirectoryDestination.Point.FILE_CREATED) {
            modesWhenCreated.put(
                p.getFileName().toString(),
                PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)));
            if (p.getFileName().toString().equals("tlscert")) {
              // swapped for a link to a root-only file: a chmod by path would make that file 0644
              swapForLink(p, outside.resolve("tlscert"));
            }
          }
        })
        .build();

    assertThatThrownBy(() -> d.write(files("1")))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining("replaced");

    assertThat(modesWhenCreated)
        .containsEntry("key", "rw-------")
        .containsEntry("tlscert", "rw-r--r--");
    assertUntouched(outside);
  }

  /**
   * Security invariant: the agent never writes, removes or changes modes through a path another
   * user can change. Every component from / to a destination or storage directory is owned by root
   * or the agent's user and not writable by others (a root-owned sticky directory such as /tmp is
   * accepted above it); writes go through opened directories without following links.
   */
  @Test
  void theAgentNeverWritesThroughAPathAnotherUserCanChange() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path groupWritable = Files.createDirectory(tmp.resolve("group-writable"));
    Files.setPosixFilePermissions(groupWritable, PosixFilePermissions.fromString("rwxrwx---"));
    Path othersDir = Files.createDirectory(tmp.resolve("others"));
    Files.setOwner(othersDir, nobody(othersDir));
    Path othersSticky = Files.createDirectory(tmp.resolve("others-sticky"));
    chmod("1777", othersSticky);
    Files.setOwner(othersSticky, nobody(othersSticky));
    List<Path> unsafe = List.of(
        Files.createSymbolicLink(tmp.resolve("link"), real).resolve("out"), // through a link
        groupWritable.resolve("out"), // a parent others can write
        othersDir.resolve("out"), // a parent another user owns
        othersSticky.resolve("out")); // sticky, but not root's
    for (Path p : unsafe) {
      assertThatThrownBy(() -> DirectoryDestination.of(p).write(files("1")))
          .as(p.toString())
          .isInstanceOf(UnsafeDestinationException.class);
      assertThatThrownBy(() -> dev.machineid.core.storage.Storage.directory(p).load())
          .as(p.toString())
          .isInstanceOf(dev.machineid.core.ConfigException.class);
      assertThat(Files.exists(p, LinkOption.NOFOLLOW_LINKS))
          .as(p + " was not created")
          .isFalse();
    }
    try (Stream<Path> s = Files.list(real)) {
      assertThat(s).isEmpty();
    }

    // a root-owned sticky directory (as /tmp) above the destination is fine; the destination itself
    // never
    Path rootSticky = Files.createDirectory(tmp.resolve("root-sticky"));
    chmod("1777", rootSticky);
    DirectoryDestination.of(rootSticky.resolve("out")).write(files("1"));
    assertThat(Files.readString(rootSticky.resolve("out").resolve("key"))).isEqualTo("key-1");
    assertThatThrownBy(() -> DirectoryDestination.of(rootSticky).write(files("1")))
        .isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining("world-writable");
  }

  private static void chmod(String mode, Path p) throws Exception {
    Process chmod = new ProcessBuilder("chmod", mode, p.toString()).inheritIO().start();
    assertThat(chmod.waitFor()).isZero();
  }

  @Test
  void anUnknownReaderIsRefusedWhenBuiltAndNothingIsCreated() {
    Path dir = tmp.resolve("out");
    assertThatThrownBy(() ->
            DirectoryDestination.builder(dir).readerUser("no-such-user-here").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("destination.reader_user: no user named 'no-such-user-here'");
    assertThatThrownBy(() ->
            DirectoryDestination.builder(dir).readerGroup("no-such-group-here").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("destination.reader_group: no group named 'no-such-group-here'");
    assertThat(dir).doesNotExist();
  }

  @Test
  void aFailedReaderGrantLeavesThePreviousVersionInPlace() throws Exception {
    Path dir = tmp.resolve("out");
    DirectoryDestination.of(dir).write(files("1"));
    Path before = Files.readSymbolicLink(dir.resolve("..data"));
    // a setfacl that refuses, as the real one does on a file system mounted without ACL support
    Path tools = Files.createDirectory(tmp.resolve("tools"));
    Path setfacl = Files.writeString(
        tools.resolve("setfacl"),
        "#!/bin/sh\necho \"setfacl: $3: Operation not supported\" >&2\nexit 1\n");
    Files.setPosixFilePermissions(setfacl, PosixFilePermissions.fromString("rwx------"));
    DirectoryDestination withReader = DirectoryDestination.builder(dir)
        .readerUser("nobody")
        .toolSearchPath(List.of(tools))
        .build();

    assertThatThrownBy(() -> withReader.write(files("2")))
        .isInstanceOf(IdentityException.class)
        .hasMessageContaining(setfacl.toString())
        .hasMessageContaining("Operation not supported");

    assertThat(Files.readSymbolicLink(dir.resolve("..data"))).isEqualTo(before);
    assertThat(Files.readString(dir.resolve("key"))).isEqualTo("key-1");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\.\\.\\d.*")))
          .as("the half-made version is removed")
          .containsExactly(before.toString());
    }
  }

  @Test
  void theToolSearchPathIsSetOnceAndAbsolute() {
    DirectoryDestination.Builder b =
        DirectoryDestination.builder(tmp).toolSearchPath(List.of(Path.of("/usr/bin")));
    assertThatThrownBy(() -> b.toolSearchPath(List.of())).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(
            () -> DirectoryDestination.builder(tmp).toolSearchPath(List.of(Path.of("bin"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'bin' is not absolute");
  }

  @Test
  void directoryIsFoundByItsTypeThroughServiceLoader() {
    List<String> types = ServiceLoader.load(DestinationProvider.class).stream()
        .map(p -> p.get().type())
        .toList();
    assertThat(types).contains("directory", "memory");
    DestinationProvider p = ServiceLoader.load(DestinationProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(x -> x.type().equals("directory"))
        .findFirst()
        .orElseThrow();
    assertThat(p.create(Map.of("type", "directory", "path", tmp.toString())))
        .isInstanceOf(DirectoryDestination.class);
    assertThatThrownBy(() -> p.create(Map.of("type", "directory")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("path");
  }
}
