package dev.machineid.agent;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.output.OutputStatus;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts renewal attempts and failures across reloads, and renders the agent's state as Prometheus
 * text (exposition format 0.0.4). Hand-written: six series do not warrant a metrics library.
 */
final class AgentMetrics implements IdentityListener {
  private final AtomicLong successes = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong reloads = new AtomicLong();
  private final AtomicLong reloadFailures = new AtomicLong();
  private final Clock clock;

  AgentMetrics(Clock clock) {
    this.clock = clock;
  }

  @Override
  public void onIssued(Identity identity) {
    successes.incrementAndGet();
  }

  @Override
  public void onRenewed(Identity previous, Identity current) {
    successes.incrementAndGet();
  }

  @Override
  public void onRenewalFailed(Throwable error, int consecutiveFailures) {
    failures.incrementAndGet();
  }

  void reloaded(boolean ok) {
    (ok ? reloads : reloadFailures).incrementAndGet();
  }

  /** The Prometheus text; {@code health} is {@code null} while no identity runs (between reloads). */
  String render(Health health, List<OutputStatus> outputs) {
    StringBuilder b = new StringBuilder(1024);
    double remaining = health == null || health.expiry() == null
        ? 0
        : Math.max(0, Duration.between(clock.instant(), health.expiry()).toMillis() / 1000.0);
    gauge(
        b,
        "machineid_certificate_remaining_lifetime_seconds",
        "Seconds until the current bot certificate expires (0 if none).",
        remaining);
    counter(
        b,
        "machineid_renewal_attempts_total",
        "Join and renewal attempts since the agent started.",
        successes.get() + failures.get());
    counter(
        b,
        "machineid_renewal_failures_total",
        "Failed join and renewal attempts since the agent started.",
        failures.get());
    gauge(
        b,
        "machineid_renewal_consecutive_failures",
        "Failed attempts since the last success.",
        health == null ? 0 : health.consecutiveFailures());
    gauge(
        b,
        "machineid_clock_offset_seconds",
        "The issuer's clock minus ours, measured at the last issuance.",
        health == null || health.clockOffset() == null
            ? 0
            : health.clockOffset().toMillis() / 1000.0);
    b.append(
        "# HELP machineid_identity_state 1 for the identity's current state.\n# TYPE machineid_identity_state gauge\n");
    for (Health.State s : Health.State.values()) {
      b.append("machineid_identity_state{state=\"")
          .append(s.name().toLowerCase(java.util.Locale.ROOT))
          .append("\"} ")
          .append(health != null && health.state() == s ? 1 : 0)
          .append('\n');
    }
    b.append(
        "# HELP machineid_output_up 1 if the output's last write succeeded.\n# TYPE machineid_output_up gauge\n");
    for (OutputStatus o : outputs) {
      b.append("machineid_output_up{output=\"")
          .append(escape(o.name()))
          .append("\"} ")
          .append(o.ok() ? 1 : 0)
          .append('\n');
    }
    counter(b, "machineid_agent_reloads_total", "Configuration reloads applied.", reloads.get());
    counter(
        b,
        "machineid_agent_reload_failures_total",
        "Configuration reloads refused (the old configuration kept running).",
        reloadFailures.get());
    return b.toString();
  }

  private static void gauge(StringBuilder b, String name, String help, double value) {
    series(b, name, help, "gauge", value);
  }

  private static void counter(StringBuilder b, String name, String help, double value) {
    series(b, name, help, "counter", value);
  }

  private static void series(StringBuilder b, String name, String help, String type, double value) {
    b.append("# HELP ").append(name).append(' ').append(help).append('\n');
    b.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    b.append(name).append(' ').append(format(value)).append('\n');
  }

  private static String format(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private static String escape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
