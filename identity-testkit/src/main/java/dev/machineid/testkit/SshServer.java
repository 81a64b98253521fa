package dev.machineid.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real OpenSSH {@code sshd} for tests, on a free port of {@code 127.0.0.1}, that accepts only
 * public keys and certificates: host key and (optional) host certificate, user CA keys trusted
 * through {@code TrustedUserCAKeys}, an optional {@code AuthorizedPrincipalsFile}, no
 * {@code authorized_keys}, no passwords, no PAM.
 *
 * <pre>{@code
 * OpenSsh.ensureLoginUser("deploy");
 * try (SshServer sshd = SshServer.builder()
 *         .hostKey(hostKey).hostCertificate(hostCertificate).trustedUserCaKeys(userCaPub)
 *         .start()) {
 *   OpenSsh.run(List.of(OpenSsh.tool("ssh"), "-p", String.valueOf(sshd.port()), "deploy@127.0.0.1", "true"));
 *   assertThat(sshd.log()).contains("Accepted publickey for deploy");
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Runs {@code sshd -D -f <dir>/sshd_config -E <dir>/sshd.log} in the foreground, with its
 *       pid in {@link #pidFile()}. {@link Builder#start} returns once the log says it listens; a port
 *       taken in between is retried (three attempts), any other failure throws with the log.</li>
 *   <li>A missing {@code sshd} skips the test (fails it under CI), as {@link OpenSsh#tool} does.
 *       Logging in as another user than the test's own needs root (sshd's privilege separation);
 *       when running as root, {@code /run/sshd} is created.</li>
 *   <li>{@link #reload()} sends {@code SIGHUP}: sshd reads its configuration and key files again
 *       (a renewed host certificate), keeping its pid.</li>
 *   <li>{@link #close()} stops sshd and its session processes and deletes its directory unless
 *       {@link Builder#directory} gave one; idempotent, and run at JVM exit if a test forgot.</li>
 * </ul>
 */
public final class SshServer implements AutoCloseable {
  private static final Duration START_TIMEOUT = Duration.ofSeconds(20);

  private final Path directory;
  private final boolean ownDirectory;
  private final Path log;
  private final int port;
  private final Process process;
  private final AtomicBoolean closed = new AtomicBoolean();
  private Runnable cancelCloseOnExit = () -> {};

  private SshServer(Path directory, boolean ownDirectory, Path log, int port, Process process) {
    this.directory = directory;
    this.ownDirectory = ownDirectory;
    this.log = log;
    this.port = port;
    this.process = process;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Where sshd writes its pid inside {@code directory}: for a reload hook written before the server starts. */
  public static Path pidFile(Path directory) {
    return directory.resolve("sshd.pid");
  }

  /** The port sshd listens on, on {@code 127.0.0.1}. */
  public int port() {
    return port;
  }

  /** The directory holding the configuration, the log and the pid file. */
  public Path directory() {
    return directory;
  }

  public Path pidFile() {
    return pidFile(directory);
  }

  public Path logFile() {
    return log;
  }

  /** sshd's log so far (its {@code -E} file). */
  public String log() {
    return ServerProcesses.readQuietly(log);
  }

  /** The pid of the sshd process. */
  public long pid() {
    return process.pid();
  }

  /** Sends {@code SIGHUP}: sshd re-reads its configuration, host key and host certificate. */
  public void reload() {
    if (closed.get()) {
      throw new IllegalStateException("sshd is closed");
    }
    ServerProcesses.run(
        List.of("kill", "-HUP", Long.toString(process.pid())), Duration.ofSeconds(10), log);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    ServerProcesses.terminate(process.toHandle());
    cancelCloseOnExit.run();
    if (ownDirectory) {
      ServerProcesses.deleteTree(directory);
    }
  }

  @Override
  public String toString() {
    return "SshServer[127.0.0.1:" + port + (closed.get() ? ", closed]" : "]");
  }

  /** Configures an {@link SshServer}; {@link #hostKey} is required. */
  public static final class Builder {
    private Path hostKey;
    private Path hostCertificate;
    private Path trustedUserCaKeys;
    private String authorizedPrincipalsFile;
    private Path directory;
    private String logLevel = "INFO";
    private final List<String> extra = new ArrayList<>();

    private Builder() {}

    /** The host's private key file (OpenSSH format, e.g. from {@link OpenSsh#keygen}). */
    public Builder hostKey(Path hostKey) {
      this.hostKey = Objects.requireNonNull(hostKey, "hostKey");
      return this;
    }

    /** The host certificate for {@link #hostKey} ({@code HostCertificate}). */
    public Builder hostCertificate(Path hostCertificate) {
      this.hostCertificate = Objects.requireNonNull(hostCertificate, "hostCertificate");
      return this;
    }

    /** The user CA public keys, one a line ({@code TrustedUserCAKeys}). */
    public Builder trustedUserCaKeys(Path trustedUserCaKeys) {
      this.trustedUserCaKeys = Objects.requireNonNull(trustedUserCaKeys, "trustedUserCaKeys");
      return this;
    }

    /**
     * {@code AuthorizedPrincipalsFile}, with sshd's tokens (e.g. {@code /etc/ssh/principals/%u}):
     * a certificate must then name one of the principals listed there instead of the login.
     */
    public Builder authorizedPrincipalsFile(String pattern) {
      Objects.requireNonNull(pattern, "pattern");
      if (pattern.isBlank() || pattern.contains("\n")) {
        throw new IllegalArgumentException("authorizedPrincipalsFile must be one non-blank line");
      }
      this.authorizedPrincipalsFile = pattern;
      return this;
    }

    /** Where to put the configuration, log and pid file; default a new temporary directory, deleted at close. */
    public Builder directory(Path directory) {
      this.directory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /** sshd's {@code LogLevel}; default {@code INFO}. */
    public Builder logLevel(String logLevel) {
      Objects.requireNonNull(logLevel, "logLevel");
      if (!logLevel.matches("QUIET|FATAL|ERROR|INFO|VERBOSE|DEBUG[123]?")) {
        throw new IllegalArgumentException("not an sshd LogLevel: " + logLevel);
      }
      this.logLevel = logLevel;
      return this;
    }

    /** One more {@code sshd_config} line, e.g. {@code "MaxAuthTries 2"}. */
    public Builder config(String line) {
      Objects.requireNonNull(line, "line");
      if (line.isBlank() || line.contains("\n")) {
        throw new IllegalArgumentException("a config line must be one non-blank line");
      }
      extra.add(line);
      return this;
    }

    /**
     * Starts sshd and waits until it listens.
     *
     * @throws IllegalStateException if {@link #hostKey} is not set, or sshd does not start (its log in the message)
     */
    public SshServer start() {
      if (hostKey == null) {
        throw new IllegalStateException("hostKey is not set");
      }
      String sshd = OpenSsh.tool("sshd");
      try {
        boolean own = directory == null;
        Path dir =
            own ? Files.createTempDirectory("machineid-sshd-") : Files.createDirectories(directory);
        if (ServerProcesses.isRoot()) {
          Files.createDirectories(Path.of("/run/sshd")); // sshd's privilege separation directory
        }
        Path log = dir.resolve("sshd.log");
        Path out = dir.resolve("sshd.out");
        for (int attempt = 1; ; attempt++) {
          int port = ServerProcesses.freePort();
          Path config = Files.writeString(dir.resolve("sshd_config"), config(port, pidFile(dir)));
          Files.deleteIfExists(log);
          Process process = new ProcessBuilder(
                  sshd, "-D", "-f", config.toString(), "-E", log.toString())
              .redirectErrorStream(true)
              .redirectOutput(out.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
              .start();
          SshServer server = new SshServer(dir, own, log, port, process);
          if (awaitListening(process, log, port)) {
            server.cancelCloseOnExit = ServerProcesses.closeOnExit("sshd", server);
            return server;
          }
          String why = ServerProcesses.readQuietly(log) + ServerProcesses.readQuietly(out);
          ServerProcesses.terminate(process.toHandle());
          if (attempt == 3 || !why.contains("Address already in use")) {
            if (own) {
              ServerProcesses.deleteTree(dir);
            }
            throw new IllegalStateException("sshd did not start:\n" + why);
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start sshd: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting sshd", e);
      }
    }

    private String config(int port, Path pidFile) {
      List<String> lines = new ArrayList<>(List.of(
          "Port " + port, "ListenAddress 127.0.0.1", "HostKey " + hostKey.toAbsolutePath()));
      if (hostCertificate != null) {
        lines.add("HostCertificate " + hostCertificate.toAbsolutePath());
      }
      if (trustedUserCaKeys != null) {
        lines.add("TrustedUserCAKeys " + trustedUserCaKeys.toAbsolutePath());
      }
      if (authorizedPrincipalsFile != null) {
        lines.add("AuthorizedPrincipalsFile " + authorizedPrincipalsFile);
      }
      lines.addAll(List.of(
          "AuthorizedKeysFile none",
          "PasswordAuthentication no",
          "KbdInteractiveAuthentication no",
          "UsePAM no",
          "StrictModes no",
          "PidFile " + pidFile.toAbsolutePath(),
          "LogLevel " + logLevel));
      lines.addAll(extra);
      return String.join("\n", lines) + "\n";
    }

    private static boolean awaitListening(Process process, Path log, int port)
        throws InterruptedException {
      String ready = "Server listening on 127.0.0.1 port " + port;
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      while (System.nanoTime() < deadline) {
        if (ServerProcesses.readQuietly(log).contains(ready)) {
          return true;
        }
        if (process.waitFor(50, TimeUnit.MILLISECONDS)) {
          return ServerProcesses.readQuietly(log).contains(ready);
        }
      }
      return false;
    }
  }
}
