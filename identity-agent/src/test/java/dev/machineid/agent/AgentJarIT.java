package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Runs the shaded jar as a subprocess; Failsafe runs it after the package phase built the jar. */
class AgentJarIT {
  @Test
  void theShadedJarPrintsItsVersion() throws Exception {
    Path jar = Path.of("target", "agent.jar");
    assertThat(jar).as("the package phase builds target/agent.jar").isRegularFile();
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = new ProcessBuilder(java.toString(), "-jar", jar.toString(), "--version")
        .redirectErrorStream(true)
        .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).as(out).isZero();
    assertThat(out).startsWith("machineid-agent ");
  }
}
