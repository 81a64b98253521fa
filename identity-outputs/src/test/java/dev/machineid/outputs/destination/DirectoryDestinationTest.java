package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.IdentityException;
import dev.machineid.core.output.DestinationProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryDestinationTest {
  @TempDir Path tmp;

  private static Map<String, byte[]> files(String tag) {
    return Map.of("key", ("key-" + tag).getBytes(StandardCharsets.US_ASCII),
        "tlscert", ("cert-" + tag).getBytes(StandardCharsets.US_ASCII));
  }

  private static String mode(Path p) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }

  @Test
  void filesAreLinksThroughADataSymlinkToAVersionedDirectoryWithKeysOwnerOnly() throws Exception {
    Path dir = tmp.resolve("out");
    DirectoryDestination d = DirectoryDestination.of(dir);
    d.write(files("1"));

    Path data = dir.resolve("..data");
    assertThat(Files.isSymbolicLink(data)).isTrue();
    assertThat(Files.readSymbolicLink(data).toString()).matches("\\.\\.\\d{4}_\\d\\d_\\d\\d_\\d\\d_\\d\\d_\\d\\d\\.\\d{9}");
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
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\.\\.\\d.*"))).hasSize(2);
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
    assertThatThrownBy(() -> d.write(files("1"))).isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining("symbolic link");
    try (Stream<Path> s = Files.list(real)) {
      assertThat(s).isEmpty();
    }
  }

  @Test
  void worldWritableDestinationIsRefused() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("open"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> DirectoryDestination.of(dir).write(files("1"))).isInstanceOf(UnsafeDestinationException.class)
        .hasMessageContaining("world-writable");
  }

  @Test
  void anUnknownReaderIsRefusedWhenBuiltAndNothingIsCreated() {
    Path dir = tmp.resolve("out");
    assertThatThrownBy(() -> DirectoryDestination.builder(dir).readerUser("no-such-user-here").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("destination.reader_user: no user named 'no-such-user-here'");
    assertThatThrownBy(() -> DirectoryDestination.builder(dir).readerGroup("no-such-group-here").build())
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
    Path setfacl = Files.writeString(tools.resolve("setfacl"),
        "#!/bin/sh\necho \"setfacl: $3: Operation not supported\" >&2\nexit 1\n");
    Files.setPosixFilePermissions(setfacl, PosixFilePermissions.fromString("rwx------"));
    DirectoryDestination withReader =
        DirectoryDestination.builder(dir).readerUser("nobody").toolSearchPath(List.of(tools)).build();

    assertThatThrownBy(() -> withReader.write(files("2"))).isInstanceOf(IdentityException.class)
        .hasMessageContaining(setfacl.toString()).hasMessageContaining("Operation not supported");

    assertThat(Files.readSymbolicLink(dir.resolve("..data"))).isEqualTo(before);
    assertThat(Files.readString(dir.resolve("key"))).isEqualTo("key-1");
    try (Stream<Path> s = Files.list(dir)) {
      assertThat(s.map(p -> p.getFileName().toString()).filter(n -> n.matches("\\.\\.\\d.*")))
          .as("the half-made version is removed").containsExactly(before.toString());
    }
  }

  @Test
  void theToolSearchPathIsSetOnceAndAbsolute() {
    DirectoryDestination.Builder b = DirectoryDestination.builder(tmp).toolSearchPath(List.of(Path.of("/usr/bin")));
    assertThatThrownBy(() -> b.toolSearchPath(List.of())).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> DirectoryDestination.builder(tmp).toolSearchPath(List.of(Path.of("bin"))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'bin' is not absolute");
  }

  @Test
  void directoryIsFoundByItsTypeThroughServiceLoader() {
    List<String> types = ServiceLoader.load(DestinationProvider.class).stream().map(p -> p.get().type()).toList();
    assertThat(types).contains("directory", "memory");
    DestinationProvider p = ServiceLoader.load(DestinationProvider.class).stream().map(ServiceLoader.Provider::get)
        .filter(x -> x.type().equals("directory")).findFirst().orElseThrow();
    assertThat(p.create(Map.of("type", "directory", "path", tmp.toString()))).isInstanceOf(DirectoryDestination.class);
    assertThatThrownBy(() -> p.create(Map.of("type", "directory"))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("path");
  }
}
