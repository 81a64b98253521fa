package dev.machineid.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A real MariaDB server for tests, on a free port of 127.0.0.1 with a fresh data directory and its
 * own unix socket, optionally with TLS.
 *
 * <pre>{@code
 * try (MariaDbServer db = MariaDbServer.builder().tls(serverChainPem, serverKeyPem, clientCaPem).start()) {
 *   db.sql("CREATE USER 'app'@'%' REQUIRE SUBJECT '/CN=app'");
 *   String url = db.jdbcUrl("");   // jdbc:mariadb://localhost:PORT/
 * }
 * }</pre>
 *
 * <p>The data directory is made with {@code mariadb-install-db} (or {@code mysql_install_db}) and
 * the server is {@code mariadbd} (or {@code mysqld}) with {@code --no-defaults}, so nothing in
 * {@code /etc/mysql} applies and a system service, if any, is not touched. The superuser is the OS
 * user running the test, authenticated by the {@code unix_socket} plugin: {@link #sql} runs the
 * {@code mariadb} command-line client over the server's own socket. The anonymous accounts that
 * {@code mariadb-install-db} makes are dropped, and with {@code --skip-name-resolve} the
 * {@code localhost} accounts match the socket only, so no account can log in over TCP until
 * {@link #sql} creates one. As root, the server and its files belong to the user
 * {@code mysql} (created as {@code machineid-maria} if there is none) and it is started through
 * {@code runuser}.
 *
 * <p>Without binaries, {@link Builder#start()} skips the calling test with a JUnit assumption that
 * says what to install — unless the environment variable {@code CI} is {@code true}, where it
 * fails instead, so that CI never skips silently.
 */
public final class MariaDbServer implements AutoCloseable {
  private static final String FALLBACK_USER = "machineid-maria";
  /** mariadbd appends ".err" to an error log name without an extension. */
  private static final String ERROR_LOG = "mariadbd.err";

  private static final List<Path> SBIN = List.of(
      Paths.get("/usr/sbin"),
      Paths.get("/usr/local/sbin"),
      Paths.get("/usr/bin"),
      Paths.get("/usr/local/bin"));

  private final Binaries bin;
  private final Path dir;
  private final Path data;
  private final Path socket;
  private final String osUser;
  private final int port;
  private Process process;
  private volatile boolean closed;
  /** Cancels the stop at JVM exit ({@link ServerProcesses#closeOnExit}) once closed by the test. */
  private volatile Runnable cancelCloseOnExit;

  private MariaDbServer(Binaries bin, Path dir, String osUser, int port) {
    this.bin = bin;
    this.dir = dir;
    this.data = dir.resolve("data");
    this.socket = dir.resolve("mariadb.sock");
    this.osUser = osUser;
    this.port = port;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings for a {@link MariaDbServer}. */
  public static final class Builder {
    private final List<String> options = new ArrayList<>();
    private String certificateChain;
    private String privateKey;
    private String clientCa;

    private Builder() {}

    /**
     * Serves TLS with this certificate chain and key ({@code --ssl-cert}, {@code --ssl-key}) and
     * verifies client certificates against {@code clientCaPem} ({@code --ssl-ca}), all PEM text.
     */
    public Builder tls(String certificateChainPem, String privateKeyPem, String clientCaPem) {
      this.certificateChain = Objects.requireNonNull(certificateChainPem, "certificateChainPem");
      this.privateKey = Objects.requireNonNull(privateKeyPem, "privateKeyPem");
      this.clientCa = Objects.requireNonNull(clientCaPem, "clientCaPem");
      return this;
    }

    /** Adds a server option, e.g. {@code --require-secure-transport=ON}. */
    public Builder option(String option) {
      Objects.requireNonNull(option, "option");
      if (!option.startsWith("--")) {
        throw new IllegalArgumentException("a mariadbd option starts with --, got " + option);
      }
      options.add(option);
      return this;
    }

    /**
     * Creates a data directory in a temporary directory and starts the server; skips the test
     * (fails under {@code CI=true}) if no MariaDB server binaries are installed.
     */
    public MariaDbServer start() {
      Binaries bin = Binaries.find();
      if (bin == null) {
        String message =
            "MariaDB server binaries (mariadbd, mariadb-install-db, mariadb, mariadb-admin) not found; install them (apt-get install -y mariadb-server)";
        Ci.skipOrFail(message);
      }
      try {
        String user = ServerProcesses.unprivilegedUser("mysql", FALLBACK_USER).orElse(null);
        Path dir = Files.createTempDirectory("machineid-maria-");
        MariaDbServer db = new MariaDbServer(bin, dir, user, ServerProcesses.freePort());
        try {
          db.init(this);
          db.cancelCloseOnExit = ServerProcesses.closeOnExit("maria", db);
          return db;
        } catch (RuntimeException | IOException e) {
          String log = db.log();
          db.close();
          if (e instanceof IOException io) {
            throw new UncheckedIOException(
                "cannot start MariaDB: " + e.getMessage() + "\nserver log:\n" + log, io);
          }
          throw e;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start MariaDB: " + e.getMessage(), e);
      }
    }
  }

  private void init(Builder b) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        bin.server.toString(),
        "--no-defaults",
        "--datadir=" + data,
        "--socket=" + socket,
        "--pid-file=" + dir.resolve("mariadbd.pid"),
        "--port=" + port,
        "--bind-address=127.0.0.1",
        "--skip-networking=0",
        "--skip-name-resolve",
        "--log-error=" + dir.resolve(ERROR_LOG),
        "--innodb-buffer-pool-size=32M",
        "--innodb-log-file-size=16M",
        "--innodb-flush-log-at-trx-commit=0",
        "--skip-log-bin"));
    if (b.certificateChain != null) {
      command.add(
          "--ssl-cert=" + writeForServer("server-chain.pem", b.certificateChain, "rw-r--r--"));
      command.add("--ssl-key=" + writeForServer("server-key.pem", b.privateKey, "rw-------"));
      command.add("--ssl-ca=" + writeForServer("client-ca.pem", b.clientCa, "rw-r--r--"));
    }
    command.addAll(b.options);
    if (osUser != null) {
      chown(dir);
    }
    List<String> install = new ArrayList<>(List.of(
        bin.installDb.toString(),
        "--no-defaults",
        "--datadir=" + data,
        "--auth-root-authentication-method=socket"));
    if (osUser != null) {
      install.add("--user=" + osUser);
    }
    run(install, dir, 180);

    List<String> full = ServerProcesses.asUser(osUser, command);
    // output to a file, never a pipe: nobody would drain it
    process = new ProcessBuilder(full)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout").toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      if (!process.isAlive()) {
        throw new IllegalStateException("mariadbd exited with " + process.exitValue() + "\n"
            + readQuietly(dir.resolve("stdout")) + "\nserver log:\n" + log());
      }
      if (Files.exists(socket) && ping()) {
        break;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "mariadbd did not accept connections within 60 s; server log:\n" + log());
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for mariadbd", e);
      }
    }
    // mariadb-install-db makes anonymous accounts (''@localhost, ''@<host name>): none may log in
    for (String host :
        sql("SELECT host FROM mysql.user WHERE user = ''").lines().toList()) {
      sql("DROP USER ''@'" + host.replace("'", "''") + "'");
    }
  }

  private boolean ping() {
    try {
      run(
          List.of(
              bin.admin.toString(),
              "--no-defaults",
              "--socket=" + socket,
              "--user=" + superuser(),
              "--connect-timeout=2",
              "ping"),
          null,
          10);
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  private Path writeForServer(String name, String content, String mode) throws IOException {
    Path file = dir.resolve(name);
    Files.deleteIfExists(file);
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
    Files.writeString(
        file, content.endsWith("\n") ? content : content + "\n", StandardCharsets.US_ASCII);
    if (osUser != null) {
      chown(file);
    }
    return file;
  }

  private void chown(Path p) throws IOException {
    Files.setOwner(
        p, p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(osUser));
  }

  /** The TCP port on 127.0.0.1. */
  public int port() {
    return port;
  }

  /** {@code jdbc:mariadb://localhost:PORT/database} (database may be empty). */
  public String jdbcUrl(String database) {
    return "jdbc:mariadb://localhost:" + port + "/" + Objects.requireNonNull(database, "database");
  }

  /** The server's unix socket. */
  public Path socket() {
    return socket;
  }

  /** The OS user the server runs as, or {@code null} for the current user. */
  public String serverUser() {
    return osUser;
  }

  /** The superuser, authenticated by {@code unix_socket}: the OS user running the test. */
  public String superuser() {
    return System.getProperty("user.name");
  }

  /**
   * Runs SQL as the superuser over the unix socket with the {@code mariadb} client and returns its
   * output: one line per row, columns separated by tabs, no header.
   *
   * @throws IllegalStateException if the client fails (the message has its output)
   */
  public String sql(String sql) {
    Objects.requireNonNull(sql, "sql");
    return run(
            List.of(
                bin.client.toString(),
                "--no-defaults",
                "--socket=" + socket,
                "--user=" + superuser(),
                "--batch",
                "--skip-column-names",
                "--raw",
                "--execute=" + sql),
            dir,
            60)
        .strip();
  }

  /** The server's error log so far, for failure messages. */
  public String log() {
    return readQuietly(dir.resolve(ERROR_LOG));
  }

  /** Stops the server ({@code mariadb-admin shutdown}, else kills it) and deletes its directory. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (cancelCloseOnExit != null) {
      cancelCloseOnExit.run();
    }
    try {
      if (process != null && process.isAlive()) {
        try {
          run(
              List.of(
                  bin.admin.toString(),
                  "--no-defaults",
                  "--socket=" + socket,
                  "--user=" + superuser(),
                  "shutdown"),
              null,
              60);
        } catch (RuntimeException e) {
          killServer();
        }
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          killServer();
          process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      ServerProcesses.deleteTree(dir);
    }
  }

  /** runuser does not pass on SIGKILL: kill mariadbd by the pid it wrote. */
  private void killServer() {
    try {
      String pid = Files.readString(dir.resolve("mariadbd.pid")).trim();
      if (pid.matches("[0-9]+")) {
        ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
      }
    } catch (IOException | RuntimeException e) {
      // best effort
    }
  }

  @Override
  public String toString() {
    return "MariaDbServer[127.0.0.1:" + port + ", " + data + "]";
  }

  // ------------------------------------------------------------------ helpers

  /** Runs a command with output to a file and returns the output. */
  private static String run(List<String> command, Path logDir, int seconds) {
    return ServerProcesses.run(
        command, Duration.ofSeconds(seconds), logDir == null ? null : logDir.resolve(ERROR_LOG));
  }

  private static String readQuietly(Path p) {
    return ServerProcesses.readQuietly(p);
  }

  /** The four programs, each by its MariaDB name or its older MySQL-compatible one. */
  private record Binaries(Path server, Path installDb, Path client, Path admin) {
    static Binaries find() {
      Path server = first("mariadbd", "mysqld");
      Path installDb = first("mariadb-install-db", "mysql_install_db");
      Path client = first("mariadb", "mysql");
      Path admin = first("mariadb-admin", "mysqladmin");
      return server == null || installDb == null || client == null || admin == null
          ? null
          : new Binaries(server, installDb, client, admin);
    }

    private static Path first(String... names) {
      List<Path> dirs = new ArrayList<>(SBIN);
      String path = System.getenv("PATH");
      if (path != null) {
        for (String d : path.split(":")) {
          if (!d.isEmpty()) {
            dirs.add(Paths.get(d));
          }
        }
      }
      for (String name : names) {
        for (Path d : dirs) {
          Path p = d.resolve(name);
          if (Files.isExecutable(p) && !Files.isDirectory(p)) {
            return p;
          }
        }
      }
      return null;
    }
  }
}
