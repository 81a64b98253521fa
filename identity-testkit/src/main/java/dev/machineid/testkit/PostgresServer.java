package dev.machineid.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/**
 * A real PostgreSQL server for tests, on a free port of 127.0.0.1 with a fresh data directory,
 * trusting every local login as user {@code postgres}.
 *
 * <pre>{@code
 * try (PostgresServer pg = PostgresServer.builder().start()) {
 *   String url = pg.createDatabase("issuer");   // jdbc:postgresql://127.0.0.1:PORT/issuer
 *   ...
 * }
 * }</pre>
 *
 * <p>The server binaries are found in {@code /usr/lib/postgresql/<version>/bin} (Debian's
 * {@code postgresql} package) or through {@code pg_ctl} on the {@code PATH}. PostgreSQL refuses to
 * run as root, so as root the data directory is given to the user {@code postgres} (created as
 * {@code machineid-pg} if there is none) and every server command runs through {@code runuser}.
 *
 * <p>Without binaries, {@link Builder#start()} skips the calling test with a JUnit assumption that
 * says what to install — unless the environment variable {@code CI} is {@code true}, where it
 * fails instead, so that CI never skips silently.
 */
public final class PostgresServer implements AutoCloseable {
  private static final String FALLBACK_USER = "machineid-pg";

  private final Path bin;
  private final Path dir;
  private final Path data;
  private final String osUser;
  private final int port;
  private volatile boolean closed;
  /** Cancels the stop at JVM exit ({@link ServerProcesses#closeOnExit}) once closed by the test. */
  private volatile Runnable cancelCloseOnExit;

  private PostgresServer(Path bin, Path dir, String osUser, int port) {
    this.bin = bin;
    this.dir = dir;
    this.data = dir.resolve("data");
    this.osUser = osUser;
    this.port = port;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings for a {@link PostgresServer}. */
  public static final class Builder {
    private final List<String> settings = new ArrayList<>();
    private final List<String> hbaLines = new ArrayList<>();

    private Builder() {}

    /** Adds a server setting, passed as {@code -c name=value} (e.g. {@code ssl=on}). */
    public Builder setting(String name, String value) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(value, "value");
      if (!name.matches("[a-z_.]+")) {
        throw new IllegalArgumentException("not a PostgreSQL setting name: " + name);
      }
      settings.add(name + "=" + value);
      return this;
    }

    /**
     * Adds a line to {@code pg_hba.conf}, before the default {@code trust} lines (so it wins), e.g.
     * {@code hostssl all all 127.0.0.1/32 cert}.
     */
    public Builder hbaLine(String line) {
      Objects.requireNonNull(line, "line");
      if (line.contains("\n")) {
        throw new IllegalArgumentException("one pg_hba.conf line at a time");
      }
      hbaLines.add(line);
      return this;
    }

    /**
     * Creates a cluster in a temporary directory and starts it; skips the test (fails under
     * {@code CI=true}) if no PostgreSQL binaries are installed.
     */
    public PostgresServer start() {
      Path bin = findBinaries();
      if (bin == null) {
        String message =
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin or on the PATH; install them (apt-get install -y postgresql)";
        Ci.skipOrFail(message);
      }
      try {
        String user =
            ServerProcesses.unprivilegedUser("postgres", FALLBACK_USER).orElse(null);
        Path dir = Files.createTempDirectory("machineid-pg-");
        if (user != null) {
          run(List.of("chown", user, dir.toString()), null);
        }
        PostgresServer pg = new PostgresServer(bin, dir, user, ServerProcesses.freePort());
        try {
          pg.init(settings, hbaLines);
          pg.cancelCloseOnExit = ServerProcesses.closeOnExit("pg", pg);
          return pg;
        } catch (RuntimeException e) {
          pg.close();
          throw e;
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start PostgreSQL: " + e.getMessage(), e);
      }
    }
  }

  private void init(List<String> settings, List<String> hbaLines) throws IOException {
    asServerUser(List.of(
        bin.resolve("initdb").toString(),
        "-D",
        data.toString(),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync"));
    if (!hbaLines.isEmpty()) {
      Path hba = data.resolve("pg_hba.conf");
      String existing = Files.readString(hba);
      Files.writeString(hba, String.join("\n", hbaLines) + "\n" + existing, StandardCharsets.UTF_8);
    }
    StringBuilder options = new StringBuilder("-p " + port + " -k " + dir
        + " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off");
    for (String s : settings) {
      options.append(" -c ").append(s);
    }
    this.options = options.toString();
    start();
  }

  private volatile String options;

  /** Starts the server again after {@link #stop()}, on the same port and data. */
  public void start() {
    asServerUser(List.of(
        bin.resolve("pg_ctl").toString(),
        "-D",
        data.toString(),
        "-o",
        options,
        "-l",
        dir.resolve("log").toString(),
        "-w",
        "-t",
        "60",
        "start"));
  }

  /** Stops the server ({@code pg_ctl stop -m fast}), keeping its data for {@link #start()}: an outage. */
  public void stop() {
    asServerUser(List.of(
        bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"));
  }

  /** The port on 127.0.0.1. */
  public int port() {
    return port;
  }

  /** {@code jdbc:postgresql://127.0.0.1:PORT/database}; log in as {@code postgres}, no password. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/"
        + Objects.requireNonNull(database, "database");
  }

  /** The superuser: {@code postgres}. */
  public String user() {
    return "postgres";
  }

  /** The server's data directory (for server keys and settings files). */
  public Path dataDirectory() {
    return data;
  }

  /** The OS user the server runs as, or {@code null} for the current user. */
  public String serverUser() {
    return osUser;
  }

  /**
   * Creates a database and returns its JDBC URL.
   *
   * @throws IllegalStateException if it cannot be created (for instance, it exists)
   */
  public String createDatabase(String name) {
    if (!name.matches("[a-z_][a-z0-9_]*")) {
      throw new IllegalArgumentException("use a plain lower-case database name, got " + name);
    }
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), "postgres", null);
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
    }
    return jdbcUrl(name);
  }

  /** The server log so far, for failure messages. */
  public String log() {
    try {
      return Files.readString(dir.resolve("log"));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  /** Stops the server ({@code pg_ctl stop -m fast}) and deletes its directory. Idempotent. */
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
      if (Files.exists(data.resolve("postmaster.pid"))) {
        asServerUser(List.of(
            bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "fast", "-w", "stop"));
      }
    } catch (RuntimeException e) {
      // still delete what we can
    } finally {
      ServerProcesses.deleteTree(dir);
    }
  }

  @Override
  public String toString() {
    return "PostgresServer[127.0.0.1:" + port + ", " + data + "]";
  }

  // ------------------------------------------------------------------ helpers

  private void asServerUser(List<String> command) {
    run(ServerProcesses.asUser(osUser, command), dir);
  }

  /** Runs a command with output to a file (never a pipe: the server inherits it). */
  private static void run(List<String> command, Path dir) {
    ServerProcesses.run(command, Duration.ofSeconds(120), dir == null ? null : dir.resolve("log"));
  }

  static Path findBinaries() {
    Path debian = Paths.get("/usr/lib/postgresql");
    if (Files.isDirectory(debian)) {
      List<Path> versions = new ArrayList<>();
      try (DirectoryStream<Path> ds = Files.newDirectoryStream(debian)) {
        for (Path v : ds) {
          if (Files.isExecutable(v.resolve("bin/pg_ctl"))
              && Files.isExecutable(v.resolve("bin/initdb"))) {
            versions.add(v.resolve("bin"));
          }
        }
      } catch (IOException e) {
        // fall through to PATH
      }
      versions.sort(
          Comparator.comparing((Path p) -> versionOf(p.getParent().getFileName().toString()))
              .reversed());
      if (!versions.isEmpty()) {
        return versions.get(0);
      }
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String d : path.split(":")) {
        Path bin = Paths.get(d);
        if (Files.isExecutable(bin.resolve("pg_ctl"))
            && Files.isExecutable(bin.resolve("initdb"))) {
          return bin;
        }
      }
    }
    return null;
  }

  private static int versionOf(String name) {
    try {
      return Integer.parseInt(name.replaceAll("[^0-9].*$", ""));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
