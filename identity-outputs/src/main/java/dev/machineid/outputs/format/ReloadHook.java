package dev.machineid.outputs.format;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An output's {@code reload:} shell command, run with {@code /bin/sh -c} after the output's files
 * are written (e.g. {@code kill -HUP $(cat /run/sshd.pid)}: sshd reads host certificates only at
 * start or on SIGHUP). Its exit code is logged; a failure is reported, never thrown into renewal.
 */
public record ReloadHook(String command, Duration timeout) {
  private static final Logger LOG = LoggerFactory.getLogger(ReloadHook.class);

  public ReloadHook {
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(timeout, "timeout");
    if (command.isBlank()) {
      throw new IllegalArgumentException("reload: empty command");
    }
  }

  public static ReloadHook of(String command) {
    return new ReloadHook(command, Duration.ofSeconds(60));
  }

  /** The outcome of one run. */
  public record Result(int exitCode, String output) {
    public boolean ok() {
      return exitCode == 0;
    }
  }

  /** Runs the command; returns its exit code ({@code -1} if it could not start or timed out). Never throws. */
  public Result run(String outputName) {
    try {
      Process p = new ProcessBuilder("/bin/sh", "-c", command)
          .redirectErrorStream(true)
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
      byte[] out = p.getInputStream().readNBytes(8192);
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        LOG.warn("output {}: reload hook `{}` timed out after {}", outputName, command, timeout);
        return new Result(-1, "timed out");
      }
      String text = new String(out, StandardCharsets.UTF_8).strip();
      int code = p.exitValue();
      if (code == 0) {
        LOG.info("output {}: reload hook `{}` exited 0", outputName, command);
      } else {
        LOG.warn("output {}: reload hook `{}` exited {}: {}", outputName, command, code, text);
      }
      return new Result(code, text);
    } catch (IOException e) {
      LOG.warn(
          "output {}: reload hook `{}` could not start: {}", outputName, command, e.toString());
      return new Result(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }
}
