package dev.machineid.it.invariants;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/architecture.md §11, invariant 11 as written: nothing secret is logged, at DEBUG too, on the refusal paths too, and
 * for JWT-SVIDs. {@link LoggedScenarioMain} runs the SDK and the issuer in a process of its own
 * with every logger of the project at DEBUG (slf4j-simple reads its level once, at start, so this
 * cannot be switched on inside the test's JVM); everything it logs is searched for each token,
 * each JWT and each private key in every encoding {@link PrivateKeysNeverLeaveTheProcessTest}
 * looks for.
 */
class NothingSecretIsLoggedAtDebugTest {
  @Test
  void noTokenKeyOrJwtIsLoggedAtDebugOnSuccessOrRefusal(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("scenario.log");
    Path secretsFile = dir.resolve("secrets.txt");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(
            java,
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=debug",
            "-Dorg.slf4j.simpleLogger.log.dev.machineid=trace",
            "-cp",
            System.getProperty("java.class.path"),
            LoggedScenarioMain.class.getName(),
            secretsFile.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
        .start();
    if (!p.waitFor(240, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      throw new AssertionError("the scenario did not finish:\n" + Files.readString(log));
    }
    byte[] bytes = Files.readAllBytes(log);
    String text = new String(bytes, StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(text).isZero();
    assertThat(text)
        .contains("DONE")
        .contains(
            "refused as expected (unknown token)",
            "refused as expected (wrong pin)",
            "refused as expected (locked bot)",
            "refused as expected (locked instance)");
    // the project's loggers did write at DEBUG
    assertThat(text.lines().filter(l -> l.contains(" DEBUG dev.machineid.")).count())
        .isPositive();

    List<String> secrets = Files.readAllLines(secretsFile);
    assertThat(secrets).filteredOn(s -> s.startsWith("token ")).hasSize(4);
    assertThat(secrets).filteredOn(s -> s.startsWith("jwt ")).hasSize(2);
    assertThat(secrets).filteredOn(s -> s.startsWith("key ")).hasSize(3);
    for (String line : secrets) {
      String[] parts = line.split(" ");
      switch (parts[0]) {
        case "token" -> assertThat(text).as("a token is logged").doesNotContain(parts[1]);
        case "jwt" -> {
          String[] segments = parts[1].split("\\.");
          assertThat(segments).hasSize(3);
          assertThat(text)
              .as("a JWT-SVID is logged")
              .doesNotContain(parts[1])
              .doesNotContain(segments[2])
              .doesNotContain(segments[1]);
        }
        default -> {
          PrivateKey key = KeyFactory.getInstance(parts[2])
              .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(parts[1])));
          for (Map.Entry<String, byte[]> form :
              PrivateKeysNeverLeaveTheProcessTest.forms(key).entrySet()) {
            assertThat(PrivateKeysNeverLeaveTheProcessTest.indexOf(bytes, form.getValue()))
                .as("a private key is logged as %s", form.getKey())
                .isEqualTo(-1);
          }
        }
      }
    }
    assertThat(text).doesNotContain("PRIVATE KEY");
  }
}
