package dev.machineid.core.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.ConfigException;
import dev.machineid.core.KeyAlgorithm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryStorageTest {
  @TempDir
  Path tmp;

  private static StoredIdentity sample(long generation) {
    KeyPair kp = KeyAlgorithm.EC_P256.generate();
    StoredIdentity.Issued c = new StoredIdentity.Issued(
        "bot",
        "i-1",
        generation,
        List.of("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"),
        null,
        Instant.parse("2030-01-01T00:00:00Z"),
        null,
        null,
        null);
    return new StoredIdentity(c, kp.getPrivate());
  }

  @Test
  void identitySurvivesAReloadAndTheFileIsOwnerOnly() throws Exception {
    Path dir = tmp.resolve("state");
    Storage s = Storage.directory(dir);
    StoredIdentity saved = sample(3);
    s.save(saved);
    StoredIdentity loaded = Storage.directory(dir).load().orElseThrow();
    assertThat(loaded.issued().generation()).isEqualTo(3);
    assertThat(loaded.privateKey().getEncoded()).isEqualTo(saved.privateKey().getEncoded());
    assertThat(PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("identity.json"))))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)))
        .isEqualTo("rwx------");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("identity.json");
    }
  }

  @Test
  void symlinkedOrWorldWritableDirectoryIsRefused() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
    assertThatThrownBy(() -> Storage.directory(link).save(sample(1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("symbolic link");
    Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> Storage.directory(real).save(sample(1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("world-writable");
  }

  @Test
  void sshCertificateOfTheIdentityIsPersistedAndRestored() {
    Path dir = tmp.resolve("state");
    StoredIdentity plain = sample(2);
    String cert =
        "ecdsa-sha2-nistp256-cert-v01@openssh.com AAAAKGVjZHNhLXNoYTItbmlzdHAyNTYtY2VydC12MDFAb3BlbnNzaC5jb20= bot-web";
    StoredIdentity.Issued c = plain.issued();
    StoredIdentity.Issued withSsh = new StoredIdentity.Issued(
        c.bot(),
        c.instanceId(),
        c.generation(),
        c.certificateChain(),
        cert,
        c.notAfter(),
        c.renewAfter(),
        c.serverTime(),
        c.authorities());
    Storage.directory(dir).save(new StoredIdentity(withSsh, plain.privateKey()));

    StoredIdentity loaded = Storage.directory(dir).load().orElseThrow();
    assertThat(loaded.issued().sshCertificate()).isEqualTo(cert);
  }

  @Test
  void identityFileWrittenBeforeSshCertificatesStillLoads() throws Exception {
    // the shape an earlier version wrote: no ssh_certificate key at all
    Path dir = Files.createDirectory(
        tmp.resolve("old"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    KeyPair kp = KeyAlgorithm.EC_P256.generate();
    String json =
        """
        {"version":1,"credentials":{"bot":"web","instance_id":"i-9","generation":4,
         "certificate_chain":["-----BEGIN CERTIFICATE-----\\nAA==\\n-----END CERTIFICATE-----\\n"],
         "not_after":"2030-01-01T00:00:00Z"},"private_key":%s}
        """
            .formatted(dev.machineid.core.protocol.Protocol.writer()
                .writeValueAsString(dev.machineid.core.protocol.Pem.encode(kp.getPrivate())));
    Files.writeString(dir.resolve("identity.json"), json);
    Files.setPosixFilePermissions(
        dir.resolve("identity.json"), PosixFilePermissions.fromString("rw-------"));

    StoredIdentity loaded = Storage.directory(dir).load().orElseThrow();
    assertThat(loaded.issued().generation()).isEqualTo(4);
    assertThat(loaded.issued().sshCertificate()).isNull();
    assertThat(loaded.privateKey().getEncoded()).isEqualTo(kp.getPrivate().getEncoded());
  }

  @Test
  void storageSquattedByAnotherUserIsRefused() throws Exception {
    // another user made the directory first (e.g. in a shared parent) and planted an identity in it
    Path dir = Files.createDirectory(
        tmp.resolve("squatted"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Storage.directory(dir).save(sample(7));
    byte[] planted = Files.readAllBytes(dir.resolve("identity.json"));
    UserPrincipal nobody =
        dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(dir, nobody);

    assertThatThrownBy(() -> Storage.directory(dir).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("owned by nobody");
    assertThatThrownBy(() -> Storage.directory(dir).save(sample(8)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("owned by nobody");
    assertThat(Files.readAllBytes(dir.resolve("identity.json")))
        .as("nothing was written")
        .isEqualTo(planted);
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("identity.json");
    }
  }

  @Test
  void aRefusalNamesEachTrustedOwnerOnce() throws Exception {
    Path dir = Files.createDirectory(tmp.resolve("other"));
    Files.setOwner(
        dir, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody"));
    String user = System.getProperty("user.name");

    assertThatThrownBy(() -> Storage.directory(dir).save(sample(1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("owned by nobody")
        .hasMessageContaining(
            "root".equals(user) ? "not by root (" : "not by root or " + user + " (")
        .hasMessageNotContaining("root or root");
  }

  @Test
  void storageBelowAGroupWritableOrSymlinkedParentIsRefused() throws Exception {
    Path shared = Files.createDirectory(tmp.resolve("shared"));
    Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxr-x"));
    assertThatThrownBy(() -> Storage.directory(shared.resolve("state")).save(sample(1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("group-writable");
    assertThat(shared.resolve("state")).doesNotExist();

    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
    assertThatThrownBy(() -> Storage.directory(link.resolve("state")).save(sample(1)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("symbolic link");
    assertThat(real.resolve("state")).doesNotExist();
  }

  @Test
  void emptyDirectoryHasNoIdentity() {
    assertThat(Storage.directory(tmp.resolve("none")).load()).isEmpty();
  }

  @Test
  void anIdentityFileReadableByOthersIsRefusedAndLeftAsItIs() throws Exception {
    Path dir = tmp.resolve("loose");
    Storage.directory(dir).save(sample(2));
    Path file = dir.resolve("identity.json");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    assertThatThrownBy(() -> Storage.directory(dir).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("rw-r--r--")
        .hasMessageContaining("Delete it");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-r--r--");
  }

  @Test
  void anIdentityFileOwnedByAnotherUserIsRefused() throws Exception {
    Path dir = tmp.resolve("planted");
    Storage.directory(dir).save(sample(2));
    Path file = dir.resolve("identity.json");
    UserPrincipal nobody =
        dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(file, nobody);

    assertThatThrownBy(() -> Storage.directory(dir).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("owned by nobody");
  }

  @Test
  void anIdentityFileLargerThanOneMebibyteIsRefusedWithoutReadingIt() throws Exception {
    Path dir = tmp.resolve("huge");
    Storage.directory(dir).save(sample(2));
    Path file = dir.resolve("identity.json");
    try (var ch =
        java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(new byte[] {' '}), 1L << 20); // one byte past 1 MiB
    }

    assertThatThrownBy(() -> Storage.directory(dir).load())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("more than the 1048576");
  }

  @Test
  void anIdentityFileOfAnUnknownFormatVersionIsRefused() throws Exception {
    Path dir = tmp.resolve("v2");
    Storage.directory(dir).save(sample(2));
    Path file = dir.resolve("identity.json");
    Files.writeString(file, Files.readString(file).replace("\"version\":1", "\"version\":2"));

    assertThatThrownBy(() -> Storage.directory(dir).load())
        .isInstanceOf(dev.machineid.core.IdentityException.class)
        .hasMessageContaining("format version 2")
        .hasMessageContaining("fix the file or delete it");
  }
}
