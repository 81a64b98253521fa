package dev.machineid.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.machineid.core.ConfigException;
import dev.machineid.core.Health;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.output.OutputStatus;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The diagnostics listener: {@code /livez} (200 while the process runs), {@code /readyz} (200 when
 * the identity is HEALTHY and every output's last write succeeded, else 503; JSON either way) and
 * {@code /metrics} (Prometheus text). JDK HTTP server, two named daemon threads.
 */
final class DiagServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DiagServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger THREADS = new AtomicInteger();

  private final HttpServer server;
  private final ExecutorService executor;
  private final Supplier<MachineIdentity> identity;
  private final AgentMetrics metrics;

  private DiagServer(HttpServer server, ExecutorService executor, Supplier<MachineIdentity> identity, AgentMetrics metrics) {
    this.server = server;
    this.executor = executor;
    this.identity = identity;
    this.metrics = metrics;
  }

  static DiagServer start(InetSocketAddress address, Supplier<MachineIdentity> identity, AgentMetrics metrics) {
    HttpServer server;
    try {
      server = HttpServer.create(address, 16);
    } catch (IOException e) {
      throw new ConfigException("diag_addr: cannot listen on " + address.getHostString() + ":" + address.getPort() + ": " + e.getMessage(), e);
    }
    ExecutorService ex = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "machineid-diag-" + THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    DiagServer d = new DiagServer(server, ex, identity, metrics);
    server.setExecutor(ex);
    server.createContext("/livez", x -> d.answer(x, 200, "text/plain; charset=utf-8", "ok\n"));
    server.createContext("/readyz", d::readyz);
    server.createContext("/metrics", d::metrics);
    server.start();
    LOG.info("diagnostics on http://{}:{}/ (livez, readyz, metrics)", address.getHostString(), d.port());
    return d;
  }

  int port() {
    return server.getAddress().getPort();
  }

  /** Whether the agent is ready, and the JSON {@code /readyz} answers with. */
  record Readiness(boolean ready, Map<String, Object> body) {}

  static Readiness readiness(MachineIdentity id) {
    Map<String, Object> body = new LinkedHashMap<>();
    if (id == null) {
      body.put("status", "starting");
      body.put("identity", Map.of("state", "starting"));
      body.put("outputs", Map.of());
      return new Readiness(false, body);
    }
    Health h = id.health();
    List<OutputStatus> outs = id.outputStatus();
    boolean ready = h.state() == Health.State.HEALTHY && outs.stream().allMatch(OutputStatus::ok);
    body.put("status", ready ? "healthy" : "unhealthy");
    Map<String, Object> identity = new LinkedHashMap<>();
    identity.put("state", h.state().name().toLowerCase(java.util.Locale.ROOT));
    identity.put("error", h.lastError());
    identity.put("consecutive_failures", h.consecutiveFailures());
    identity.put("next_renewal", h.nextRenewal() == null ? null : h.nextRenewal().toString());
    identity.put("expiry", h.expiry() == null ? null : h.expiry().toString());
    identity.put("clock_offset_seconds", h.clockOffset() == null ? 0 : h.clockOffset().toMillis() / 1000.0);
    body.put("identity", identity);
    Map<String, Object> outputs = new LinkedHashMap<>();
    for (OutputStatus o : outs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("status", o.state().name().toLowerCase(java.util.Locale.ROOT));
      m.put("error", o.error());
      m.put("written_at", o.writtenAt() == null ? null : o.writtenAt().toString());
      outputs.put(o.name(), m);
    }
    body.put("outputs", outputs);
    return new Readiness(ready, body);
  }

  private void readyz(HttpExchange x) throws IOException {
    Readiness r = readiness(identity.get());
    answer(x, r.ready() ? 200 : 503, "application/json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r.body()) + "\n");
  }

  private void metrics(HttpExchange x) throws IOException {
    MachineIdentity id = identity.get();
    String text = metrics.render(id == null ? null : id.health(), id == null ? List.of() : id.outputStatus());
    answer(x, 200, "text/plain; version=0.0.4; charset=utf-8", text);
  }

  private void answer(HttpExchange x, int code, String type, String body) throws IOException {
    try (x) {
      if (!"GET".equals(x.getRequestMethod()) && !"HEAD".equals(x.getRequestMethod())) {
        x.getResponseHeaders().set("Allow", "GET, HEAD");
        x.sendResponseHeaders(405, -1);
        return;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      x.getResponseHeaders().set("Content-Type", type);
      x.getResponseHeaders().set("Cache-Control", "no-store");
      boolean head = "HEAD".equals(x.getRequestMethod());
      x.sendResponseHeaders(code, head ? -1 : bytes.length);
      if (!head) {
        try (OutputStream os = x.getResponseBody()) {
          os.write(bytes);
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
