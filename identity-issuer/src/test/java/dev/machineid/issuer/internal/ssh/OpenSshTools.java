package dev.machineid.issuer.internal.ssh;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Runs the real OpenSSH tools; a missing tool skips the test, or fails it when {@code CI=true}. */
final class OpenSshTools {
  private OpenSshTools() {}

  /** The absolute path of {@code name} in the usual places, or a skip (failure under CI=true). */
  static Path require(String name) {
    for (String dir : List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin")) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(":")) {
        if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
          return Path.of(dir, name).toAbsolutePath();
        }
      }
    }
    String message = name + " is not installed (apt-get install -y openssh-client openssh-server)";
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(message + ": CI=true, so this test must not be skipped");
    }
    Assumptions.abort(message + ": skipping");
    throw new AssertionError("unreachable");
  }

  /** Skips (fails under CI=true) unless {@code condition} holds. */
  static void requireThat(boolean condition, String message) {
    if (condition) {
      return;
    }
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      fail(message + ": CI=true, so this test must not be skipped");
    }
    Assumptions.abort(message + ": skipping");
  }

  /** The exit status and merged output of a finished command. */
  record Result(int exitCode, String output) {}

  /** Runs a command with {@code TZ=UTC}, its stdin empty, and waits up to 60 seconds for it. */
  static Result run(List<String> command) {
    return run(command, Map.of());
  }

  static Result run(List<String> command, Map<String, String> environment) {
    ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
    builder.environment().put("TZ", "UTC");
    builder.environment().putAll(environment);
    try {
      Process process = builder.start();
      byte[] out;
      try {
        out = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          fail("timed out: " + String.join(" ", command));
        }
      } finally {
        process.destroyForcibly();
      }
      return new Result(process.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot run " + command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted running " + command, e);
    }
  }

  /** Runs a command that must succeed and returns its output. */
  static String runOk(List<String> command) {
    Result result = run(command);
    if (result.exitCode() != 0) {
      fail(String.join(" ", command) + " exited with " + result.exitCode() + ":\n" + result.output());
    }
    return result.output();
  }

  /** {@code ssh-keygen -t TYPE -N '' -f DIR/NAME}: a key pair in OpenSSH format; returns the private key path. */
  static Path keygen(Path dir, String name, String type, int bits) {
    Path key = dir.resolve(name);
    List<String> command = new ArrayList<>(List.of(require("ssh-keygen").toString(), "-q", "-t", type, "-N", "", "-C", name, "-f", key.toString()));
    if (bits > 0) {
      command.addAll(List.of("-b", Integer.toString(bits)));
    }
    runOk(command);
    return key;
  }

  static Path write(Path file, String content) {
    try {
      return Files.writeString(file, content.endsWith("\n") ? content : content + "\n");
    } catch (IOException e) {
      throw new AssertionError("cannot write " + file, e);
    }
  }

  static String read(Path file) {
    try {
      return Files.readString(file).strip();
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }
}
