package dev.machineid.core.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.ConfigException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.protocol.Credentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DirectoryStorageTest {
  @TempDir Path tmp;

  private static StoredIdentity sample(long generation) {
    KeyPair kp = KeyAlgorithm.EC_P256.generate();
    Credentials c = new Credentials("bot", "i-1", generation, List.of("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"),
        null, Instant.parse("2030-01-01T00:00:00Z"), null, null, null);
    return new StoredIdentity(c, kp.getPrivate());
  }

  @Test
  void identitySurvivesAReloadAndTheFileIsOwnerOnly() throws Exception {
    Path dir = tmp.resolve("state");
    Storage s = Storage.directory(dir);
    StoredIdentity saved = sample(3);
    s.save(saved);
    StoredIdentity loaded = Storage.directory(dir).load().orElseThrow();
    assertThat(loaded.credentials().generation()).isEqualTo(3);
    assertThat(loaded.privateKey().getEncoded()).isEqualTo(saved.privateKey().getEncoded());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("identity.json")))).isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("identity.json");
    }
  }

  @Test
  void symlinkedOrWorldWritableDirectoryIsRefused() throws Exception {
    Path real = Files.createDirectory(tmp.resolve("real"));
    Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
    assertThatThrownBy(() -> Storage.directory(link).save(sample(1))).isInstanceOf(ConfigException.class).hasMessageContaining("symbolic link");
    Files.setPosixFilePermissions(real, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> Storage.directory(real).save(sample(1))).isInstanceOf(ConfigException.class).hasMessageContaining("world-writable");
  }

  @Test
  void emptyDirectoryHasNoIdentity() {
    assertThat(Storage.directory(tmp.resolve("none")).load()).isEmpty();
  }
}
