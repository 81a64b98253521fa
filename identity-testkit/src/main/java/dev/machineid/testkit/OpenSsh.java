package dev.machineid.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The real OpenSSH tools for tests ({@code ssh}, {@code ssh-keygen}, {@code ssh-keyscan},
 * {@code sshd}): found where a distribution installs them, run on {@link ServerProcesses} with
 * {@code TZ=UTC} and empty input. A missing tool skips the test on a developer's machine and fails
 * it under CI ({@link Ci}). {@link SshServer} runs {@code sshd} itself.
 *
 * <pre>{@code
 * Path key = OpenSsh.keygen(dir, "id_ed25519", "ed25519", 0);
 * String listing = OpenSsh.runOk(List.of(OpenSsh.tool("ssh-keygen"), "-L", "-f", certificate.toString()));
 * }</pre>
 */
public final class OpenSsh {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final List<String> SYSTEM_DIRS =
      List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin", "/usr/local/sbin");

  private OpenSsh() {}

  /**
   * The absolute path of an OpenSSH tool, looked up in the system directories ({@code /usr/sbin}
   * included, where {@code sshd} lives) and then on the {@code PATH}; where it is missing, skips
   * the test (fails it under CI) naming the Debian package that installs it.
   */
  public static String tool(String name) {
    Objects.requireNonNull(name, "name");
    for (String dir : SYSTEM_DIRS) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    return Ci.tool(name, name.equals("sshd") ? "openssh-server" : "openssh-client");
  }

  /** Runs a command with {@code TZ=UTC} and waits up to 60 seconds for it, whatever its exit status. */
  public static ServerProcesses.Result run(List<String> command) {
    return run(command, Map.of());
  }

  /** {@link #run(List)} with {@code environment} added. */
  public static ServerProcesses.Result run(List<String> command, Map<String, String> environment) {
    Map<String, String> env = new java.util.HashMap<>(environment);
    env.putIfAbsent("TZ", "UTC");
    return ServerProcesses.exec(command, env, TIMEOUT);
  }

  /**
   * Runs a command that must succeed and returns its output.
   *
   * @throws IllegalStateException if it exits with another status than 0 (its output in the message)
   */
  public static String runOk(List<String> command) {
    ServerProcesses.Result result = run(command);
    if (!result.succeeded()) {
      throw new IllegalStateException(String.join(" ", command) + " exited with "
          + result.exitCode() + ":\n" + result.output());
    }
    return result.output();
  }

  /**
   * {@code ssh-keygen -t TYPE [-b BITS] -N '' -C NAME -f DIR/NAME}: a key pair in OpenSSH format
   * without a passphrase; returns the private key's path (the public key is beside it, {@code .pub}).
   *
   * @param bits the key size, or 0 for the type's default
   */
  public static Path keygen(Path dir, String name, String type, int bits) {
    Path key = dir.resolve(name);
    List<String> command = new ArrayList<>(
        List.of(tool("ssh-keygen"), "-q", "-t", type, "-N", "", "-C", name, "-f", key.toString()));
    if (bits > 0) {
      command.addAll(List.of("-b", Integer.toString(bits)));
    }
    runOk(command);
    return key;
  }

  /**
   * Makes sure the local account {@code login} exists and that {@code sshd} lets it log in with a
   * key: creates it ({@code useradd -m -s /bin/sh}) if missing and unlocks its password field
   * ({@code *}: no password works, but the account is not locked, which sshd without PAM refuses).
   * Without root, or where {@code useradd} fails, skips the test (fails it under CI).
   */
  public static void ensureLoginUser(String login) {
    Objects.requireNonNull(login, "login");
    if (!login.matches("[a-z_][a-z0-9_-]{0,31}")) {
      throw new IllegalArgumentException("not a login name: '" + login + "'");
    }
    if (!run(List.of("id", "-u", login)).succeeded()) {
      Ci.require(ServerProcesses.isRoot(), "creating the login user " + login + " needs root");
      ServerProcesses.Result made = run(List.of("useradd", "-m", "-s", "/bin/sh", login));
      Ci.require(made.succeeded(), "cannot create the login user " + login + ": " + made.output());
    }
    if (ServerProcesses.isRoot()) {
      runOk(List.of("usermod", "-p", "*", login));
    }
  }
}
