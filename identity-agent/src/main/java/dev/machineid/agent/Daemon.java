package dev.machineid.agent;

import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.MachineIdentity;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The long-running agent: one {@link MachineIdentity} built from the config file, whose renewals
 * rewrite every output, plus the diagnostics listener. {@link #reload()} re-reads the file and, if
 * it is valid, replaces the identity; if not, the running one stays.
 */
final class Daemon implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.machineid.agent");

  private final Path configFile;
  private final InetSocketAddress diagOverride;
  private final AgentMetrics metrics = new AgentMetrics(Clock.systemUTC());
  private final AtomicReference<MachineIdentity> running = new AtomicReference<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Object lifecycle = new Object();
  private volatile DiagServer diag;
  private volatile boolean started;
  private volatile boolean closed;

  /**
   * @param configFile the agent YAML
   * @param diagOverride {@code --diag-addr}, which wins over the file's {@code diag_addr}; or {@code null}
   */
  Daemon(Path configFile, InetSocketAddress diagOverride) {
    this.configFile = Objects.requireNonNull(configFile, "configFile");
    this.diagOverride = diagOverride;
  }

  /**
   * Validates the config, opens the diagnostics listener, then joins (or restores from storage) and
   * writes every output once.
   *
   * @throws ConfigException for a bad config (exit 2)
   * @throws IdentityException if no identity came (exit 1)
   */
  void start() {
    synchronized (lifecycle) {
      if (closed) {
        throw new IllegalStateException("the agent is closed");
      }
      if (started) {
        throw new IllegalStateException("the agent is already started");
      }
      started = true;
      AgentSettings settings = AgentSettings.read(configFile);
      MachineIdentity id = build();
      InetSocketAddress addr = diagOverride != null ? diagOverride : settings.diagAddr();
      running.set(id);
      try {
        if (addr != null) {
          // before the join, so that /livez answers and /readyz says "starting" while it runs
          diag = DiagServer.start(addr, running::get, metrics);
        }
        id.start();
      } catch (RuntimeException e) {
        close();
        throw e;
      }
      if (closed) {
        DiagServer d = diag;
        if (d != null) {
          d.close();
        }
        throw new IllegalStateException("the agent was stopped while starting");
      }
      LOG.info(
          "agent running with {} ({} outputs); SIGHUP reloads it",
          configFile,
          id.outputStatus().size());
    }
  }

  private MachineIdentity build() {
    try {
      return MachineIdentity.builderFromConfig(configFile).listener(metrics).build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new ConfigException("config " + configFile + ": " + e.getMessage(), e);
    }
  }

  /**
   * Re-reads the config. If it is valid, the running identity is closed and one built from the new
   * config starts (restoring from {@code storage} where it is durable); if not, the running identity
   * keeps running and the error is logged.
   *
   * @return whether the new config runs now
   */
  boolean reload() {
    synchronized (lifecycle) {
      if (closed || !started) {
        return false;
      }
      MachineIdentity next;
      try {
        AgentSettings settings = AgentSettings.read(configFile);
        InetSocketAddress addr = diagOverride != null ? diagOverride : settings.diagAddr();
        if (diag != null && addr != null && addr.getPort() != 0 && addr.getPort() != diag.port()) {
          LOG.warn("diag_addr changed to {}; the diagnostics listener moves only at restart", addr);
        }
        next = build();
      } catch (RuntimeException e) {
        metrics.reloaded(false);
        LOG.error("reload refused, the running configuration stays: {}", e.getMessage());
        return false;
      }
      // closed first: two identities renewing the same stored instance would race its generation
      MachineIdentity old = running.getAndSet(next);
      if (old != null) {
        old.close();
      }
      try {
        next.start();
      } catch (RuntimeException e) {
        metrics.reloaded(false);
        LOG.error(
            "the reloaded configuration did not get an identity: {}. With a single-use token, reload "
                + "needs storage of type directory so that the identity is restored rather than joined again",
            e.getMessage());
        return false;
      }
      if (closed) {
        next.close();
        return false;
      }
      metrics.reloaded(true);
      LOG.info("reloaded {} ({} outputs)", configFile, next.outputStatus().size());
      return true;
    }
  }

  /** The running identity, or {@code null} before start. */
  MachineIdentity identity() {
    return running.get();
  }

  /** The diagnostics port, or -1 without a listener. */
  int diagPort() {
    DiagServer d = diag;
    return d == null ? -1 : d.port();
  }

  /** Blocks until {@link #close()}. */
  void awaitClose() throws InterruptedException {
    stopped.await();
  }

  boolean awaitClose(long timeout, TimeUnit unit) throws InterruptedException {
    return stopped.await(timeout, unit);
  }

  /**
   * Stops renewal and the diagnostics listener. Idempotent. Does not wait for a join or reload in
   * progress: closing the identity ends it.
   */
  @Override
  public void close() {
    synchronized (stopped) {
      if (closed) {
        return;
      }
      closed = true;
    }
    MachineIdentity id = running.get();
    if (id != null) {
      id.close();
    }
    DiagServer d = diag;
    if (d != null) {
      d.close();
    }
    if (id != null) {
      LOG.info("agent stopped");
    }
    stopped.countDown();
  }
}
