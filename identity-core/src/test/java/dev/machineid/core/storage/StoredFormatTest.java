package dev.machineid.core.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identity directories written by earlier versions (the fixtures under {@code format-v1-*}) still
 * restore, and saving what was restored writes the same bytes: the on-disk format is a contract.
 */
class StoredFormatTest {
  @TempDir
  Path tmp;

  private Path copyOfFixture(String name) throws Exception {
    Path dir = Files.createDirectory(
        tmp.resolve(name),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    try (InputStream in = StoredFormatTest.class.getResourceAsStream(name + "/identity.json")) {
      Files.write(dir.resolve("identity.json"), in.readAllBytes());
    }
    Files.setPosixFilePermissions(
        dir.resolve("identity.json"), PosixFilePermissions.fromString("rw-------"));
    return dir;
  }

  @Test
  void aFullIdentityDirectoryOfFormatOneRestoresEveryField() throws Exception {
    StoredIdentity s = Storage.directory(copyOfFixture("format-v1-full")).load().orElseThrow();

    var c = s.issued();
    assertThat(c.bot()).isEqualTo("web");
    assertThat(c.instanceId()).isEqualTo("3f1c0a52-9d7e-4b8a-a0c1-5e6f7a8b9c0d");
    assertThat(c.generation()).isEqualTo(7);
    assertThat(c.certificateChain()).hasSize(2).allSatisfy(pem -> assertThat(pem)
        .startsWith("-----BEGIN CERTIFICATE-----"));
    assertThat(c.sshCertificate())
        .startsWith("ecdsa-sha2-nistp256-cert-v01@openssh.com ")
        .endsWith(" bot-web");
    assertThat(c.notAfter()).isEqualTo(Instant.parse("2030-01-01T00:00:00Z"));
    assertThat(c.renewAfter()).isEqualTo(Instant.parse("2029-12-31T16:00:00Z"));
    assertThat(c.serverTime()).isEqualTo(Instant.parse("2026-12-05T21:00:00.123Z"));
    var a = c.authorities();
    assertThat(a.trustDomain()).isEqualTo("example.org");
    assertThat(a.x509Authorities()).hasSize(1).containsExactlyElementsOf(a.spiffeAuthorities());
    assertThat(a.databaseClientAuthorities()).isEmpty();
    assertThat(a.databaseServerAuthorities()).isNull();
    assertThat(a.kubernetesClientAuthorities()).containsExactlyElementsOf(a.x509Authorities());
    assertThat(a.sshUserAuthorities()).singleElement().asString().endsWith(" user-ca");
    assertThat(a.sshHostAuthorities()).singleElement().asString().endsWith(" host-ca");
    assertThat(a.jwksJson())
        .isEqualTo(
            "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"x\":\"AQ\",\"y\":\"Ag\"}]}");
    assertThat(s.privateKey().getAlgorithm()).isEqualTo("EC");
    assertThat(s.pending())
        .hasValueSatisfying(kp -> assertThat(kp.getPublic().getAlgorithm()).isEqualTo("EC"));
  }

  @Test
  void aMinimalIdentityDirectoryOfFormatOneRestores() throws Exception {
    StoredIdentity s =
        Storage.directory(copyOfFixture("format-v1-minimal")).load().orElseThrow();

    var c = s.issued();
    assertThat(c.bot()).isEqualTo("api");
    assertThat(c.instanceId()).isEqualTo("i-1");
    assertThat(c.generation()).isEqualTo(1);
    assertThat(c.certificateChain()).hasSize(1);
    assertThat(c.sshCertificate()).isNull();
    assertThat(c.renewAfter()).isNull();
    assertThat(c.serverTime()).isNull();
    assertThat(c.authorities()).isNull();
    assertThat(s.pending()).isEmpty();
  }

  @Test
  void savingARestoredIdentityWritesTheSameBytes() throws Exception {
    for (String fixture : new String[] {"format-v1-full", "format-v1-minimal"}) {
      Path dir = copyOfFixture(fixture);
      byte[] before = Files.readAllBytes(dir.resolve("identity.json"));
      StoredIdentity s = Storage.directory(dir).load().orElseThrow();
      Path again = tmp.resolve(fixture + "-again");
      Storage.directory(again).save(s);
      assertThat(new String(
              Files.readAllBytes(again.resolve("identity.json")),
              java.nio.charset.StandardCharsets.UTF_8))
          .as(fixture)
          .isEqualTo(new String(before, java.nio.charset.StandardCharsets.UTF_8));
    }
  }
}
