package dev.machineid.agent;

import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.output.OutputStatus;
import dev.machineid.core.storage.SafeDirectory;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The agent's command line: {@code start} (daemon or {@code --oneshot}) and {@code init}. Exit codes:
 * 0 success, 1 no identity or an output failed, 2 a bad config or command line — each failure as one
 * line on standard error.
 */
@Command(
    name = "machineid-agent",
    mixinStandardHelpOptions = true,
    versionProvider = Agent.Version.class,
    subcommands = {Agent.Start.class, Agent.Init.class},
    description =
        "Keeps machine identity credentials on disk fresh for tools outside the JVM (ssh, psql, kubectl, openssl).")
public final class Agent implements Callable<Integer> {
  /** Exit code: an identity or output failure. */
  public static final int FAILED = 1;
  /** Exit code: a bad config or command line. */
  public static final int BAD_CONFIG = 2;

  @Spec
  CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command line in-process and returns the exit code; {@code start} without {@code --oneshot} blocks until stopped. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new Agent());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    cl.setExecutionExceptionHandler((e, line, parsed) -> {
      line.getErr().println("machineid-agent: " + oneLine(e));
      return e instanceof ConfigException ? BAD_CONFIG : FAILED;
    });
    return cl.execute(args);
  }

  private static String oneLine(Throwable e) {
    String m = e.getMessage() != null ? e.getMessage() : e.toString();
    return m.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.joining(" "));
  }

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return BAD_CONFIG;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Agent.class.getPackage().getImplementationVersion();
      return new String[] {"machineid-agent " + (v == null ? "dev" : v)};
    }
  }

  @Command(
      name = "start",
      mixinStandardHelpOptions = true,
      description = {
        "Joins and writes every output; keeps them fresh until SIGTERM or SIGINT (SIGHUP reloads the config).",
        "With --oneshot, writes every output once and exits."
      })
  static final class Start implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
        names = {"-c", "--config"},
        required = true,
        paramLabel = "FILE",
        description = "The agent YAML.")
    Path config;

    @Option(
        names = "--oneshot",
        description = "Write every output once, then exit (0, or 1 with the reason).")
    boolean oneShot;

    @Option(
        names = "--diag-addr",
        paramLabel = "HOST:PORT",
        description = "Serve /livez, /readyz and /metrics here (overrides diag_addr).")
    String diagAddr;

    @Override
    public Integer call() throws InterruptedException {
      PrintWriter out = spec.commandLine().getOut();
      AgentSettings settings = AgentSettings.read(config);
      InetSocketAddress diag =
          diagAddr == null ? null : AgentSettings.parseAddress(diagAddr, "--diag-addr");
      if (oneShot || settings.oneShot()) {
        return oneShot(out, spec.commandLine().getErr());
      }
      Daemon daemon = new Daemon(config, diag);
      // SIGTERM and SIGINT close cleanly; the hook covers JVMs where the handlers cannot be
      // installed
      Thread hook = new Thread(daemon::close, "machineid-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      Signals.handle("TERM", daemon::close);
      Signals.handle("INT", daemon::close);
      ExecutorService reloads = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "machineid-reload");
        t.setDaemon(true);
        return t;
      });
      if (!Signals.handle("HUP", () -> reloads.execute(daemon::reload))) {
        spec.commandLine()
            .getErr()
            .println("machineid-agent: SIGHUP cannot be handled in this process, so reload is "
                + "unavailable: restart the agent to apply a new config");
      }
      try {
        daemon.start();
        daemon.awaitClose();
        return 0;
      } finally {
        reloads.shutdownNow();
        daemon.close();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
          // the hook is running
        }
      }
    }

    private int oneShot(PrintWriter out, PrintWriter err) {
      MachineIdentity id;
      try {
        id = MachineIdentity.builderFromConfig(config).oneShot(true).build();
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new ConfigException("config " + config + ": " + e.getMessage(), e);
      }
      try (id) {
        id.start();
        List<OutputStatus> status = id.outputStatus();
        List<OutputStatus> failed = status.stream().filter(s -> !s.ok()).toList();
        if (!failed.isEmpty()) {
          OutputStatus f = failed.get(0);
          err.println("machineid-agent: " + failed.size() + " of " + status.size()
              + " outputs failed; output " + f.name() + ": "
              + (f.error() == null ? "not written" : f.error()));
          return FAILED;
        }
        out.println("wrote " + status.size() + " output" + (status.size() == 1 ? "" : "s")
            + (status.isEmpty()
                ? " (the config has no outputs)"
                : ": "
                    + status.stream().map(OutputStatus::name).collect(Collectors.joining(", "))));
        return 0;
      }
    }
  }

  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description =
          "Creates the directories of directory outputs (0700, or 0750 with --reader-group) and of directory storage (0700).")
  static final class Init implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
        names = {"-c", "--config"},
        required = true,
        paramLabel = "FILE",
        description = "The agent YAML.")
    Path config;

    @Option(
        names = "--owner",
        paramLabel = "USER",
        description = "The user the agent runs as; owns every directory.")
    String owner;

    @Option(
        names = "--reader-group",
        paramLabel = "GROUP",
        description = "A group that may read the outputs.")
    String readerGroup;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      AgentSettings settings = AgentSettings.read(config);
      try {
        // the whole file is checked before anything is created: a typo is refused here, not at
        // start
        MachineIdentity.builderFromConfig(config);
      } catch (IllegalArgumentException | IllegalStateException e) {
        throw new ConfigException("config " + config + ": " + e.getMessage(), e);
      }
      if (settings.storageDirectory() == null && settings.outputDirectories().isEmpty()) {
        out.println(
            "nothing to create: " + config + " has no directory outputs and no directory storage");
        return 0;
      }
      if (settings.storageDirectory() != null) {
        prepare(out, settings.storageDirectory(), null);
      }
      for (Path p : settings.outputDirectories()) {
        prepare(out, p, readerGroup);
      }
      return 0;
    }

    /**
     * Creates {@code dir} below a parent whose whole path is checked (see {@link SafeDirectory}),
     * then sets its owner, group and mode through the opened directory, never by path. The
     * directory itself may already belong to {@code --owner} (a second run).
     */
    private void prepare(PrintWriter out, Path dir, String group) {
      Path abs = dir.toAbsolutePath().normalize();
      if (abs.getParent() == null) {
        throw new IdentityException("cannot prepare " + dir + ": it is the root directory");
      }
      Set<PosixFilePermission> perms =
          PosixFilePermissions.fromString(group != null ? "rwxr-x---" : "rwx------");
      String name = abs.getFileName().toString();
      try (SafeDirectory parent = SafeDirectory.openParent(abs.getParent(), true)) {
        UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal target =
            owner == null ? null : lookup(() -> users.lookupPrincipalByName(owner), "user", owner);
        SafeDirectory d;
        if (parent.attributes(name) == null) {
          d = parent.createDirectory(name, perms);
        } else {
          d = parent.openDirectory(name); // refuses a link or a file
          try {
            refuseSquatted(d, users, target);
            stripAcl(d);
          } catch (IOException | RuntimeException e) {
            d.close();
            throw e;
          }
        }
        try (d) {
          if (target != null) {
            d.setOwner(target);
          }
          if (group != null) {
            d.setGroup((GroupPrincipal)
                lookup(() -> users.lookupPrincipalByGroupName(group), "group", group));
          }
          d.setMode(perms);
          var attrs = d.attributes();
          out.println("prepared " + dir + " (owner " + attrs.owner().getName() + ", group "
              + attrs.group().getName() + ", mode "
              + PosixFilePermissions.toString(attrs.permissions()) + ")");
        }
      } catch (SafeDirectory.UnsafePathException e) {
        throw new IdentityException("cannot prepare " + dir + ": " + e.getMessage(), e);
      } catch (IOException e) {
        throw new IdentityException(
            "cannot prepare " + dir + ": " + e
                + (owner != null || group != null ? " (changing owner or group needs root)" : ""),
            e);
      }
    }

    /**
     * An existing directory is taken over only if it already belongs to root, to the user running
     * init or to {@code --owner}, and nobody else can write it: one another user made (or can
     * change) may hold planted files, links or ACL entries, and chowning it would hand them to the
     * agent.
     */
    private static void refuseSquatted(
        SafeDirectory d, UserPrincipalLookupService users, UserPrincipal target)
        throws IOException {
      PosixFileAttributes a = d.attributes();
      Set<UserPrincipal> trusted = new HashSet<>();
      trusted.add(users.lookupPrincipalByName("root"));
      try {
        trusted.add(users.lookupPrincipalByName(System.getProperty("user.name")));
      } catch (UserPrincipalNotFoundException e) {
        // no passwd entry for this uid: root and --owner remain
      }
      if (target != null) {
        trusted.add(target);
      }
      if (!trusted.contains(a.owner())) {
        throw new IdentityException(
            "cannot prepare " + d.path() + ": it already exists and is owned by "
                + a.owner().getName()
                + "; it may hold files, links or ACL entries that user planted, so it is not taken "
                + "over. Remove it (after looking at what is in it) or choose another path");
      }
      Set<PosixFilePermission> w = EnumSet.copyOf(a.permissions());
      w.retainAll(EnumSet.of(PosixFilePermission.GROUP_WRITE, PosixFilePermission.OTHERS_WRITE));
      if (!w.isEmpty()) {
        throw new IdentityException(
            "cannot prepare " + d.path() + ": it already exists and is writable by others ("
                + PosixFilePermissions.toString(a.permissions())
                + "); what is in it may have been planted, so it is not "
                + "taken over. Remove it (after looking at what is in it) or choose another path");
      }
    }

    /**
     * Removes every ACL entry (access and default) from an existing directory with {@code setfacl -P
     * -b -k}, if {@code setfacl} is installed: a masked entry for another user would come alive when
     * the agent grants readers. The agent adds its readers' entries again on its next write.
     */
    private static void stripAcl(SafeDirectory d) throws IOException {
      Path setfacl = null;
      for (String dir :
          System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
        Path candidate = dir.isEmpty() ? null : Path.of(dir).resolve("setfacl");
        if (candidate != null && candidate.isAbsolute() && Files.isExecutable(candidate)) {
          setfacl = candidate;
          break;
        }
      }
      if (setfacl == null) {
        return;
      }
      if (!d.stillAtPath()) {
        throw new IdentityException(
            "cannot prepare " + d.path() + ": it was moved or replaced while it was prepared");
      }
      Process p = new ProcessBuilder(
              setfacl.toString(), "-P", "-b", "-k", d.path().toString())
          .redirectErrorStream(true)
          .start();
      try {
        String out =
            new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) || p.exitValue() != 0) {
          throw new IOException("setfacl -P -b -k " + d.path() + " failed: " + out.strip());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted removing ACL entries from " + d.path(), e);
      }
    }

    private interface Lookup {
      UserPrincipal get() throws IOException;
    }

    private static UserPrincipal lookup(Lookup l, String kind, String name) throws IOException {
      try {
        return l.get();
      } catch (UserPrincipalNotFoundException e) {
        throw new IdentityException("no " + kind + " named '" + name + "' on this machine", e);
      }
    }
  }
}
