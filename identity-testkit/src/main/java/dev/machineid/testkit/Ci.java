package dev.machineid.testkit;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.junit.jupiter.api.Assumptions;

/**
 * The one place a test asks whether it runs in CI ({@code CI=true}), and what it does when a tool
 * or a privilege it needs is missing: skip with a message on a developer's machine, fail under CI,
 * so that CI never skips a test silently.
 */
public final class Ci {
  private Ci() {}

  /** Whether the environment variable {@code CI} is {@code true} (any case). */
  public static boolean isCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Skips the calling test with {@code message}; under CI fails it instead. Never returns normally. */
  public static void skipOrFail(String message) {
    Objects.requireNonNull(message, "message");
    if (isCi()) {
      throw new IllegalStateException(
          message + " — CI=true, so this test fails instead of skipping");
    }
    Assumptions.abort(message);
  }

  /** {@link #skipOrFail} with {@code message} unless {@code present}. */
  public static void require(boolean present, String message) {
    if (!present) {
      skipOrFail(message);
    }
  }

  /**
   * The path of executable {@code tool} (a name looked up on the {@code PATH}, or an absolute
   * path); where it is missing, skips the test (fails it under CI) naming the Debian package
   * that installs it.
   */
  public static String tool(String tool, String debianPackage) {
    Objects.requireNonNull(tool, "tool");
    Objects.requireNonNull(debianPackage, "debianPackage");
    Path found = null;
    if (tool.startsWith("/")) {
      found = Files.isExecutable(Path.of(tool)) ? Path.of(tool) : null;
    } else {
      for (String dir :
          System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
        Path p = Path.of(dir, tool);
        if (Files.isExecutable(p)) {
          found = p;
          break;
        }
      }
    }
    if (found == null) {
      skipOrFail(tool + " not found; install it (apt-get install -y " + debianPackage + ")");
    }
    return found.toString();
  }
}
