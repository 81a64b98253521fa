package dev.machineid.issuer.internal.ssh;

import static org.assertj.core.api.Assertions.fail;

import dev.machineid.testkit.Ci;
import dev.machineid.testkit.OpenSsh;
import dev.machineid.testkit.ServerProcesses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The testkit's {@link OpenSsh} tools for these tests; a missing tool skips the test, or fails it when {@code CI=true}. */
final class OpenSshTools {
  private OpenSshTools() {}

  /** The absolute path of {@code name} in the usual places, or a skip (failure under CI=true). */
  static Path require(String name) {
    return Path.of(OpenSsh.tool(name));
  }

  /** Skips (fails under CI=true) unless {@code condition} holds. */
  static void requireThat(boolean condition, String message) {
    Ci.require(condition, message);
  }

  /** The exit status and merged output of a finished command. */
  record Result(int exitCode, String output) {}

  /** Runs a command with {@code TZ=UTC}, its stdin empty, and waits up to 60 seconds for it. */
  static Result run(List<String> command) {
    return run(command, Map.of());
  }

  static Result run(List<String> command, Map<String, String> environment) {
    ServerProcesses.Result result = OpenSsh.run(command, environment);
    return new Result(result.exitCode(), result.output());
  }

  /** Runs a command that must succeed and returns its output. */
  static String runOk(List<String> command) {
    Result result = run(command);
    if (result.exitCode() != 0) {
      fail(String.join(" ", command) + " exited with " + result.exitCode() + ":\n"
          + result.output());
    }
    return result.output();
  }

  /** {@code ssh-keygen -t TYPE -N '' -f DIR/NAME}: a key pair in OpenSSH format; returns the private key path. */
  static Path keygen(Path dir, String name, String type, int bits) {
    return OpenSsh.keygen(dir, name, type, bits);
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
