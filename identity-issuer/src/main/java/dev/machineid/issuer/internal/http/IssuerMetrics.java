package dev.machineid.issuer.internal.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The issuer's meters (docs/architecture.md §12), served as Prometheus text at {@code /metrics}:
 *
 * <ul>
 *   <li>{@code machineid_issuer_requests_seconds{call,code}}: requests by call and outcome code
 *       ({@code ok} or the problem code), with latency histogram buckets;
 *   <li>{@code machineid_issuer_joins_total{method,outcome}}: joins by join method and outcome
 *       ({@code success} or the problem code);
 *   <li>{@code machineid_issuer_issued_total{kind}}: certificates issued by kind;
 *   <li>{@code machineid_issuer_rate_limited_total}: calls refused by the rate limit;
 *   <li>{@code machineid_issuer_requests_timed_out_total}: connections closed for exceeding the
 *       request time limit;
 *   <li>{@code machineid_issuer_requests_aborted_total}: requests whose body ended early (the
 *       client went away or was cut off while the issuer read it).
 * </ul>
 *
 * Label values come from fixed sets (calls, codes, configured join methods), never from client
 * text, so the series count stays bounded.
 */
public final class IssuerMetrics {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final Counter rateLimited;
  private final Counter timedOut;
  private final Counter aborted;

  public IssuerMetrics() {
    rateLimited = Counter.builder("machineid.issuer.rate.limited")
        .description("calls refused by the per-address rate limit")
        .register(registry);
    timedOut = Counter.builder("machineid.issuer.requests.timed.out")
        .description("connections closed for exceeding the request time limit")
        .register(registry);
    aborted = Counter.builder("machineid.issuer.requests.aborted")
        .description("requests whose body ended before it was read to its end")
        .register(registry);
  }

  public void bodyAborted() {
    aborted.increment();
  }

  public void timedOut() {
    timedOut.increment();
  }

  public void request(String call, String code, long nanos) {
    Timer.builder("machineid.issuer.requests")
        .description("issuer requests by call and outcome code")
        .tag("call", call)
        .tag("code", code)
        .serviceLevelObjectives(
            Duration.ofMillis(5),
            Duration.ofMillis(10),
            Duration.ofMillis(25),
            Duration.ofMillis(50),
            Duration.ofMillis(100),
            Duration.ofMillis(250),
            Duration.ofMillis(500),
            Duration.ofSeconds(1),
            Duration.ofSeconds(2),
            Duration.ofSeconds(5))
        .register(registry)
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  public void join(String method, String outcome) {
    Counter.builder("machineid.issuer.joins")
        .description("joins by join method and outcome")
        .tag("method", method)
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  public void issued(String kind) {
    Counter.builder("machineid.issuer.issued")
        .description("certificates issued by kind")
        .tag("kind", kind)
        .register(registry)
        .increment();
  }

  public void rateLimited() {
    rateLimited.increment();
  }

  /** Prometheus text exposition format 0.0.4. */
  public String scrape() {
    return registry.scrape();
  }
}
