package dev.machineid.issuer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code issuer serve} as its own process: the crypto provider setting is applied and logged at
 * start, admin commands reach it from the init directory, and SIGTERM stops it cleanly.
 */
class ServeProcessTest {
  @TempDir
  Path tmp;

  private Process serve(Path dir, String provider) throws Exception {
    Path yaml = dir.resolve("issuer.yaml");
    Files.writeString(
        yaml,
        Files.readString(yaml)
            .replace("crypto_provider: jdk", "crypto_provider: " + provider)
            .replace("shutdown_grace: 5s", "shutdown_grace: 2s"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(
        java,
        "-cp",
        System.getProperty("java.class.path"),
        IssuerCli.class.getName(),
        "serve",
        "-c",
        yaml.toString(),
        "--listen",
        "127.0.0.1:0");
    pb.redirectErrorStream(true);
    return pb.start();
  }

  private static List<String> readUntil(Process p, String marker, Duration timeout)
      throws Exception {
    List<String> lines = new ArrayList<>();
    BufferedReader r =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    Thread reader = new Thread(() -> {
      try {
        String l;
        while ((l = r.readLine()) != null) {
          synchronized (lines) {
            lines.add(l);
          }
        }
      } catch (java.io.IOException e) {
        // process ended
      }
    });
    reader.setDaemon(true);
    reader.start();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      synchronized (lines) {
        if (lines.stream().anyMatch(l -> l.contains(marker))) {
          return lines;
        }
      }
      if (!p.isAlive()) {
        break;
      }
      Thread.sleep(50); // polling the child's output, with a deadline
    }
    synchronized (lines) {
      throw new AssertionError("no line with '" + marker + "' from serve: " + lines);
    }
  }

  @Test
  void serveLogsTheCryptoProviderAnswersAdminCommandsAndStopsOnSigterm() throws Exception {
    Path dir = tmp.resolve("issuer");
    assertThat(IssuerCli.run(
            new String[] {"init", "--dir", dir.toString()},
            new PrintWriter(new StringWriter()),
            new PrintWriter(new StringWriter())))
        .isZero();
    Process p = serve(dir, "accp");
    try {
      List<String> lines = readUntil(
          p,
          "issuer https://",
          Duration.ofSeconds(60)); // serve prints this once issuer.url is written
      String all = String.join("\n", lines);
      assertThat(all).contains("crypto provider setting 'accp'");
      boolean accpLoads = System.getProperty("os.name").startsWith("Linux")
          && System.getProperty("os.arch").matches("amd64|x86_64");
      if (accpLoads) {
        assertThat(all).contains("SHA256withECDSA from AmazonCorrettoCryptoProvider");
      }
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      int code = IssuerCli.run(
          new String[] {"bots", "add", "proc", "--dir", dir.toString()},
          new PrintWriter(out),
          new PrintWriter(err));
      assertThat(code).as(err.toString()).isZero();
      assertThat(out.toString()).contains("The bot token: ");
    } finally {
      p.destroy(); // SIGTERM: the shutdown hook closes the issuer
    }
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(Files.exists(dir.resolve("issuer.url")))
        .as("serve removes issuer.url when it stops")
        .isFalse();
  }

  @Test
  void bouncyCastleSignsCertificatesWhileTlsKeepsWorking() throws Exception {
    Path dir = tmp.resolve("bc");
    assertThat(IssuerCli.run(
            new String[] {"init", "--dir", dir.toString()},
            new PrintWriter(new StringWriter()),
            new PrintWriter(new StringWriter())))
        .isZero();
    Process p = serve(dir, "bouncycastle");
    try {
      assertThat(String.join("\n", readUntil(p, " crypto BC ", Duration.ofSeconds(60))))
          .contains("certificates are signed by BC");
      StringWriter err = new StringWriter();
      assertThat(IssuerCli.run(
              new String[] {"admin", "renew", "--dir", dir.toString()},
              new PrintWriter(new StringWriter()),
              new PrintWriter(err)))
          .as(err.toString())
          .isZero();
      assertThat(IssuerCli.run(
              new String[] {"bots", "add", "bc", "--dir", dir.toString()},
              new PrintWriter(new StringWriter()),
              new PrintWriter(err)))
          .as(err.toString())
          .isZero();
    } finally {
      p.destroy();
    }
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void unknownCryptoProviderIsAOneLineError() throws Exception {
    Path dir = tmp.resolve("bad");
    assertThat(IssuerCli.run(
            new String[] {"init", "--dir", dir.toString()},
            new PrintWriter(new StringWriter()),
            new PrintWriter(new StringWriter())))
        .isZero();
    Process p = serve(dir, "rot13");
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.exitValue()).isEqualTo(1);
    assertThat(output)
        .contains("issuer: ")
        .contains("crypto_provider must be jdk, bouncycastle or accp");
  }
}
