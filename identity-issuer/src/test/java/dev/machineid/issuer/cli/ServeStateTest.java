package dev.machineid.issuer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.Pem;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code issuer serve} never silently loses state: the store path is the file's, its files are
 * private, an empty store behind keys that served before is refused, and copies of one init
 * directory serve one set of authorities.
 */
class ServeStateTest {
  @TempDir
  Path tmp;

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = IssuerCli.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Result(code, out.toString(), err.toString());
  }

  static Result ok(Result r) {
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    return r;
  }

  private Path init(String name) {
    Path dir = tmp.resolve(name);
    ok(run("init", "--dir", dir.toString(), "--listen", "127.0.0.1:0"));
    try {
      Path yaml = dir.resolve("issuer.yaml");
      Files.writeString(
          yaml, Files.readString(yaml).replace("shutdown_grace: 5s", "shutdown_grace: 0s"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return dir;
  }

  private static void setStore(Path dir, String url) throws IOException {
    Path yaml = dir.resolve("issuer.yaml");
    Files.writeString(
        yaml, Files.readString(yaml).replace("store: \"\"", "store: \"" + url + "\""));
  }

  /** A {@code serve} in this JVM, started the way the command line starts it. */
  static final class Serve implements AutoCloseable {
    final Path dir;
    final Thread thread;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();
    volatile int code = -1;

    Serve(Path dir, String... extra) {
      this.dir = dir;
      List<String> args =
          new ArrayList<>(List.of("serve", "-c", dir.resolve("issuer.yaml").toString()));
      args.addAll(List.of(extra));
      thread = new Thread(
          () -> code = IssuerCli.run(
              args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true)),
          "serve-state-test");
      thread.setDaemon(true);
      thread.start();
    }

    /** Waits until serving (true) or exited (false). */
    boolean started() throws InterruptedException {
      Instant deadline = Instant.now().plusSeconds(60);
      while (Instant.now().isBefore(deadline)) {
        if (Files.exists(dir.resolve("issuer.url"))) {
          return true;
        }
        if (!thread.isAlive()) {
          return false;
        }
        Thread.sleep(20); // polling a file the server writes, with a deadline
      }
      throw new AssertionError("serve neither started nor exited: " + out + err);
    }

    URI url() throws IOException {
      return URI.create(Files.readString(dir.resolve("issuer.url")).trim());
    }

    @Override
    public void close() {
      thread.interrupt();
      try {
        thread.join(20_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while stopping serve", e);
      }
      assertThat(thread.isAlive()).as("serve stopped").isFalse();
    }
  }

  private static byte[] authorityDocument(Serve s) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry(
        "ca", Pem.certificate(Files.readString(s.dir.resolve("admin/ca.pem"))));
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    HttpClient http = HttpClient.newBuilder()
        .sslContext(ctx)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
    HttpResponse<byte[]> r = http.send(
        HttpRequest.newBuilder(s.url().resolve("/v1/authority"))
            .timeout(Duration.ofSeconds(20))
            .build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body();
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> all = Files.walk(from)) {
      for (Path p : all.sorted(Comparator.naturalOrder()).toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }

  // ---- a real serve process, so its working directory can differ

  private Process serveProcess(Path dir, Path workingDirectory) throws IOException {
    Files.createDirectories(workingDirectory);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(
        java,
        "-cp",
        System.getProperty("java.class.path"),
        IssuerCli.class.getName(),
        "serve",
        "-c",
        dir.resolve("issuer.yaml").toAbsolutePath().toString());
    pb.directory(workingDirectory.toFile());
    pb.redirectErrorStream(true);
    pb.redirectOutput(workingDirectory.resolve("serve.log").toFile());
    return pb.start();
  }

  private static void awaitFile(Path file, Process p, Path log) throws Exception {
    Instant deadline = Instant.now().plusSeconds(90);
    while (!Files.exists(file)) {
      assertThat(p.isAlive()).as(() -> "serve is running: " + read(log)).isTrue();
      assertThat(Instant.now())
          .as(() -> "serve wrote " + file + ": " + read(log))
          .isBefore(deadline);
      Thread.sleep(50); // polling a file the server process writes, with a deadline
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void restartingServeFromAnotherDirectoryKeepsEveryBot() throws Exception {
    Path dir = init("issuer");
    setStore(dir, "jdbc:h2:file:./data/issuer");
    Path first = tmp.resolve("cwd-one");
    Process p = serveProcess(dir, first);
    try {
      awaitFile(dir.resolve("issuer.url"), p, first.resolve("serve.log"));
      ok(run("bots", "add", "web", "--dir", dir.toString()));
    } finally {
      p.destroy();
    }
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();

    Path second = tmp.resolve("cwd-two");
    Process q = serveProcess(dir, second);
    try {
      awaitFile(dir.resolve("issuer.url"), q, second.resolve("serve.log"));
      Result ls = ok(run("bots", "ls", "--format", "json", "--dir", dir.toString()));
      assertThat(ls.out()).contains("\"web\"");
    } finally {
      q.destroy();
    }
    assertThat(q.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(dir.resolve("data/issuer.mv.db")).exists();
    assertThat(first.resolve("data")).doesNotExist();
    assertThat(second.resolve("data")).doesNotExist();
  }

  @Test
  void theStoreFilesAreCreated0600() throws Exception {
    Path dir = init("private");
    setStore(dir, "jdbc:h2:file:./data/issuer");
    try (Serve s = new Serve(dir)) {
      assertThat(s.started()).as(s.err.toString()).isTrue();
      ok(run("bots", "add", "web", "--dir", dir.toString()));
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("data"))))
          .isEqualTo("rwx------");
      try (Stream<Path> files = Files.list(dir.resolve("data"))) {
        List<Path> all = files.toList();
        assertThat(all).extracting(f -> f.getFileName().toString()).contains("issuer.mv.db");
        for (Path f : all) {
          assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
              .as(f.toString())
              .isEqualTo("rw-------");
        }
      }
    }
  }

  @Test
  void anEmptyStoreBehindUsedKeysIsRefusedUnlessNewStore() throws Exception {
    Path dir = init("moved");
    setStore(dir, "jdbc:h2:file:./data/issuer");
    try (Serve s = new Serve(dir)) {
      assertThat(s.started()).as(s.err.toString()).isTrue();
      ok(run("bots", "add", "web", "--dir", dir.toString()));
    }
    String elsewhere = "jdbc:h2:file:" + tmp.resolve("elsewhere/issuer");
    Serve refused = new Serve(dir, "--store", elsewhere);
    assertThat(refused.started()).isFalse();
    refused.thread.join(20_000);
    assertThat(refused.code).isEqualTo(1);
    assertThat(refused.err.toString().strip())
        .startsWith("issuer: the store ")
        .contains("is empty")
        .contains("served before")
        .contains("--new-store");
    assertThat(refused.err.toString().strip().lines().count()).isEqualTo(1);

    try (Serve again = new Serve(dir, "--store", elsewhere, "--new-store")) {
      assertThat(again.started()).as(again.err.toString()).isTrue();
      assertThat(
              ok(run("bots", "ls", "--format", "json", "--dir", dir.toString())).out())
          .doesNotContain("\"web\"");
    }
    // the first store still serves, and a store of another authority is refused even with
    // --new-store
    try (Serve original = new Serve(dir)) {
      assertThat(original.started()).as(original.err.toString()).isTrue();
      assertThat(
              ok(run("bots", "ls", "--format", "json", "--dir", dir.toString())).out())
          .contains("\"web\"");
    }
    Path other = init("other");
    Serve foreign =
        new Serve(other, "--store", "jdbc:h2:file:" + dir.resolve("data/issuer"), "--new-store");
    assertThat(foreign.started()).isFalse();
    foreign.thread.join(20_000);
    assertThat(foreign.err.toString()).contains("belongs to the issuer with CA pin");
  }

  @Test
  void twoReplicasFromOneCopiedDirectoryServeIdenticalAuthorities() throws Exception {
    Path original = init("original");
    Path a = tmp.resolve("replica-a");
    Path b = tmp.resolve("replica-b");
    copyTree(original, a);
    copyTree(original, b);
    // one shared store
    String shared = "jdbc:h2:file:" + tmp.resolve("common-store/issuer");
    try (Serve one = new Serve(a, "--store", shared);
        Serve two = new Serve(b, "--store", shared)) {
      assertThat(one.started()).as(one.err.toString()).isTrue();
      assertThat(two.started()).as(two.err.toString()).isTrue();
      assertThat(authorityDocument(one)).isEqualTo(authorityDocument(two));
    }
    // and separate stores, one each
    Path c = tmp.resolve("replica-c");
    Path d = tmp.resolve("replica-d");
    copyTree(original, c);
    copyTree(original, d);
    try (Serve three = new Serve(c, "--store", "jdbc:h2:file:" + c.resolve("data/issuer"));
        Serve four = new Serve(d, "--store", "jdbc:h2:file:" + d.resolve("data/issuer"))) {
      assertThat(three.started()).as(three.err.toString()).isTrue();
      assertThat(four.started()).as(four.err.toString()).isTrue();
      byte[] doc = authorityDocument(three);
      assertThat(doc).isEqualTo(authorityDocument(four));
      String text = new String(doc, StandardCharsets.UTF_8);
      assertThat(text).contains("spiffe_authorities").contains("ssh_user_authorities");
    }
  }

  @Test
  void aKeysDirectoryLackingAnAuthorityIsRefusedUntilInitUpgrade() throws Exception {
    Path dir = init("old");
    // what an older init left: only the issuer authority and the MAC key
    try (Stream<Path> keys = Files.list(dir.resolve("keys"))) {
      for (Path k : keys.toList()) {
        String n = k.getFileName().toString();
        if (!n.startsWith("authority-") && !n.equals("challenge-mac.key")) {
          Files.delete(k);
        }
      }
    }
    Serve refused = new Serve(dir);
    assertThat(refused.started()).isFalse();
    refused.thread.join(20_000);
    assertThat(refused.err.toString()).contains("lacks").contains("issuer init --upgrade");
    assertThat(dir.resolve("keys/spiffe-key.pem")).doesNotExist();

    Result upgrade = ok(run("init", "--upgrade", "--dir", dir.toString()));
    assertThat(upgrade.out()).contains("spiffe-key.pem").contains("ssh-user-ca-key.pem");
    assertThat(PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("keys/spiffe-key.pem"))))
        .isEqualTo("rw-------");
    try (Serve s = new Serve(dir)) {
      assertThat(s.started()).as(s.err.toString()).isTrue();
    }
  }
}
