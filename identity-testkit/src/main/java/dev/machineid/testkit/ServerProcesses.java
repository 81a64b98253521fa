package dev.machineid.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * What every fixture that runs an external server (PostgreSQL, MariaDB, sshd) needs: a free port, an
 * unprivileged user to run the server as when the tests run as root (both databases refuse root),
 * commands run with their output in a file (never a pipe, which a server would inherit and nobody
 * would drain) and the server's log in every failure message, a stop at JVM exit for a server a
 * test forgot to close, and removal of the server's directory.
 */
public final class ServerProcesses {
  private ServerProcesses() {}

  /** A port on {@code 127.0.0.1} free at the time of the call. */
  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free port: " + e.getMessage(), e);
    }
  }

  /** Whether the tests run as root. */
  public static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  /**
   * When running as root, the user to run a server as: {@code preferred} if it exists (the
   * distribution's own, e.g. {@code postgres}), else {@code fallback}, created as a system user on
   * first use; empty when not root (the server runs as the current user).
   */
  public static Optional<String> unprivilegedUser(String preferred, String fallback) {
    if (!isRoot()) {
      return Optional.empty();
    }
    if (userExists(preferred)) {
      return Optional.of(preferred);
    }
    if (!userExists(fallback)) {
      run(
          List.of(
              "useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", fallback),
          Duration.ofSeconds(30),
          null);
    }
    return Optional.of(fallback);
  }

  /** Whether an account of this name exists. */
  public static boolean userExists(String name) {
    try (Stream<String> lines = Files.lines(Path.of("/etc/passwd"))) {
      return lines.anyMatch(l -> l.startsWith(name + ":"));
    } catch (IOException e) {
      return false;
    }
  }

  /** {@code command} run as {@code user} through {@code runuser}, or as it is when {@code user} is {@code null}. */
  public static List<String> asUser(String user, List<String> command) {
    List<String> full = new ArrayList<>();
    if (user != null) {
      full.addAll(List.of("runuser", "-u", user, "--"));
    }
    full.addAll(command);
    return full;
  }

  /**
   * How a finished command ended.
   *
   * @param exitCode its exit status
   * @param output its standard output and error, merged
   */
  public record Result(int exitCode, String output) {
    /** Whether it exited with 0. */
    public boolean succeeded() {
      return exitCode == 0;
    }
  }

  /**
   * Runs a command to completion with its output in a file, and returns the output.
   *
   * @param serverLog the server's log, appended to the failure message when it is not empty; may be
   *     {@code null}
   * @throws IllegalStateException if it fails (its output and the server's log in the message) or
   *     does not finish in time (then it is killed)
   */
  public static String run(List<String> command, Duration timeout, Path serverLog) {
    Result result = exec(command, Map.of(), timeout);
    if (!result.succeeded()) {
      String log = serverLog == null ? "" : readQuietly(serverLog);
      throw new IllegalStateException(
          "failed (exit " + result.exitCode() + "): " + String.join(" ", command) + "\n"
              + result.output() + (log.isEmpty() ? "" : "\nserver log:\n" + log));
    }
    return result.output();
  }

  /**
   * Runs a command to completion, its input empty and its output in a file, with {@code environment}
   * added to this process's, and returns how it ended whatever its exit status.
   *
   * @throws IllegalStateException if it does not finish in time (then it is killed)
   * @throws UncheckedIOException if it cannot be started
   */
  public static Result exec(
      List<String> command, Map<String, String> environment, Duration timeout) {
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(environment, "environment");
    try {
      Path out = Files.createTempFile("machineid-testkit-cmd-", ".log");
      try {
        ProcessBuilder builder = new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        builder.environment().putAll(environment);
        Process p = builder.start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
          p.destroyForcibly();
          throw new IllegalStateException("timed out: " + String.join(" ", command));
        }
        return new Result(p.exitValue(), Files.readString(out));
      } finally {
        Files.deleteIfExists(out);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command.get(0), e);
    }
  }

  /**
   * Stops a process and every process it started: asks them to end, waits up to 10 seconds, then
   * kills what is left.
   */
  public static void terminate(ProcessHandle process) {
    List<ProcessHandle> children = process.descendants().toList();
    process.destroy();
    children.forEach(ProcessHandle::destroy);
    try {
      process.onExit().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
      children.forEach(ProcessHandle::destroyForcibly);
    } catch (ExecutionException | TimeoutException e) {
      process.destroyForcibly();
      children.forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** A file's text, or empty if it cannot be read: for failure messages. */
  public static String readQuietly(Path p) {
    try {
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * Closes {@code server} when the JVM exits, if nothing closed it before; returns what the server's
   * own {@code close()} calls to cancel that.
   */
  public static Runnable closeOnExit(String name, AutoCloseable server) {
    Thread hook = new Thread(
        () -> {
          try {
            server.close();
          } catch (Exception e) {
            // the JVM is exiting: nothing left to report to
          }
        },
        "machineid-testkit-" + name + "-exit");
    Runtime.getRuntime().addShutdownHook(hook);
    return () -> {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // the JVM is exiting: the hook is running or has run
      }
    };
  }

  /** Deletes a directory tree, best effort. */
  public static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort
        }
      });
    } catch (IOException e) {
      // best effort
    }
  }
}
