package dev.machineid.outputs.format;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Real command-line tools for the output tests: skipped where missing, failed instead under CI=true. */
final class Tools {
  private Tools() {}

  record Result(int exit, String output) {}

  static String require(String tool, String pkg) {
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
      dev.machineid.testkit.Ci.skipOrFail(
          tool + " not found; install it (apt-get install -y " + pkg + ")");
    }
    return found.toString();
  }

  static Result run(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("timed out: " + cmd);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  static Result run(String... cmd) throws IOException, InterruptedException {
    return run(List.of(cmd));
  }
}
