package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
  void readerUserIsGrantedThroughAnAcl() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(DirectoryDestination.setfaclPath() != null || "true".equals(System.getenv("CI")),
        "setfacl not found; install it (apt-get install -y acl)");
    Path dir = tmp.resolve("acl");
    DirectoryDestination.builder(dir).readerUser("nobody").build().write(files("1"));
    Path version = dir.resolve(Files.readSymbolicLink(dir.resolve("..data")));
    Process p = new ProcessBuilder("getfacl", "-p", version.resolve("key").toString()).redirectErrorStream(true).start();
    String acl = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(acl).contains("user:nobody:r--");
    // no one else gains access
    assertThat(acl).contains("other::---");
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
