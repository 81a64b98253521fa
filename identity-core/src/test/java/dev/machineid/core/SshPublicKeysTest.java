package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.machineid.core.protocol.SshPublicKeys;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SshPublicKeysTest {
  @TempDir
  Path tmp;

  @ParameterizedTest
  @EnumSource(KeyAlgorithm.class)
  void authorizedKeyLinesAreReadByOpenSsh(KeyAlgorithm algorithm) throws Exception {
    boolean present = new File("/usr/bin/ssh-keygen").canExecute();
    if (!present && "true".equalsIgnoreCase(System.getenv("CI"))) {
      throw new AssertionError("ssh-keygen is required in CI (apt-get install openssh-client)");
    }
    assumeTrue(present, "ssh-keygen not installed; skipping the OpenSSH cross-check");
    String line = SshPublicKeys.authorizedKey(algorithm.generate().getPublic());
    Path file = Files.writeString(tmp.resolve("key.pub"), line + " test\n");
    Process p = new ProcessBuilder("ssh-keygen", "-l", "-f", file.toString())
        .redirectErrorStream(true)
        .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(out).isZero();
    String expected =
        switch (algorithm) {
          case EC_P256 -> "256 SHA256:";
          case ED25519 -> "256 SHA256:";
          case RSA_2048 -> "2048 SHA256:";
        };
    assertThat(out)
        .startsWith(expected)
        .contains(
            algorithm == KeyAlgorithm.ED25519
                ? "(ED25519)"
                : algorithm == KeyAlgorithm.RSA_2048 ? "(RSA)" : "(ECDSA)");
  }
}
