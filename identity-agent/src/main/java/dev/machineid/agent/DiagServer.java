package dev.machineid.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.ConfigException;
import dev.machineid.core.Health;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.output.OutputStatus;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The diagnostics listener: {@code /livez} (200 while the process runs), {@code /readyz} (200 when
 * the identity is HEALTHY and every output's last write succeeded, else 503; JSON either way) and
 * {@code /metrics} (Prometheus text).
 *
 * <p>Jetty, whose reads are non-blocking: a client that sends half a request and stops holds a
 * socket, not a thread, so probes are answered whatever idle clients do. Every connection is
 * closed once it has been open for the request time limit (10 s by default) and after each
 * answer ({@code Connection: close}), at most {@value #MAX_CONNECTIONS} connections are open at
 * once, and at most {@value #MAX_THREADS} threads answer. The listener never stops accepting: a
 * connection beyond the cap closes the oldest open connection that has not delivered a request (or,
 * if every one has, the oldest), so clients that connect and send nothing cannot fill the cap and
 * keep a liveness probe out. A request whose {@code Host} is not an IP
 * address, {@code localhost}, the listen address's own name or this machine's host name is refused
 * with 421, so a web page whose name an attacker rebinds to this address (DNS rebinding) cannot read
 * the answers.
 */
final class DiagServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DiagServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Duration REQUEST_TIME_LIMIT = Duration.ofSeconds(10);
  static final int MAX_CONNECTIONS = 64;
  static final int MAX_THREADS = 4;

  private final Server server;
  private final ServerConnector connector;
  private final Supplier<MachineIdentity> identity;
  private final AgentMetrics metrics;
  private final Set<String> hostNames;

  private DiagServer(
      Server server,
      ServerConnector connector,
      Supplier<MachineIdentity> identity,
      AgentMetrics metrics,
      Set<String> hostNames) {
    this.server = server;
    this.connector = connector;
    this.identity = identity;
    this.metrics = metrics;
    this.hostNames = hostNames;
  }

  static DiagServer start(
      InetSocketAddress address, Supplier<MachineIdentity> identity, AgentMetrics metrics) {
    return start(address, identity, metrics, REQUEST_TIME_LIMIT);
  }

  /** As above with the time a connection may stay open to deliver its request and get the answer. */
  static DiagServer start(
      InetSocketAddress address,
      Supplier<MachineIdentity> identity,
      AgentMetrics metrics,
      Duration requestTimeLimit) {
    QueuedThreadPool pool =
        new QueuedThreadPool(MAX_THREADS + 2, 2); // + the acceptor and the selector
    pool.setName("machineid-diag");
    pool.setDaemon(true);
    Server server =
        new Server(pool, new ScheduledExecutorScheduler("machineid-diag-scheduler", true), null);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    http.setRequestHeaderSize(8192);
    http.setIdleTimeout(requestTimeLimit.toMillis());
    ServerConnector connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(address.getHostString());
    connector.setPort(address.getPort());
    connector.setIdleTimeout(requestTimeLimit.toMillis());
    connector.setReuseAddress(true);
    connector.addBean(new LifetimeLimit(requestTimeLimit));
    connector.addBean(new EvictOldest(MAX_CONNECTIONS));
    server.addConnector(connector);
    DiagServer d = new DiagServer(server, connector, identity, metrics, hostNames(address));
    server.setHandler(d.new Routes());
    try {
      server.start();
    } catch (Exception e) {
      try {
        server.stop();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new ConfigException(
          "diag_addr: cannot listen on " + address.getHostString() + ":" + address.getPort() + ": "
              + e.getMessage(),
          e);
    }
    LOG.info(
        "diagnostics on http://{}:{}/ (livez, readyz, metrics)", address.getHostString(), d.port());
    return d;
  }

  /** Names (lower case) accepted in {@code Host} besides IP addresses: localhost, the listen host, this machine's. */
  private static Set<String> hostNames(InetSocketAddress address) {
    Set<String> names = new TreeSet<>();
    names.add("localhost");
    names.add(address.getHostString().toLowerCase(Locale.ROOT));
    try {
      String self = InetAddress.getLocalHost().getHostName().toLowerCase(Locale.ROOT);
      names.add(self);
      int dot = self.indexOf('.');
      if (dot > 0) {
        names.add(self.substring(0, dot));
      }
    } catch (java.net.UnknownHostException e) {
      // no resolvable host name: addresses and localhost still work
    }
    return Set.copyOf(names);
  }

  /** Closes every connection that has been open longer than the limit, whatever it is doing. */
  private static final class LifetimeLimit implements Connection.Listener {
    private final long millis;

    LifetimeLimit(Duration limit) {
      this.millis = limit.toMillis();
    }

    @Override
    public void onOpened(Connection connection) {
      Scheduler scheduler =
          connection.getEndPoint() instanceof org.eclipse.jetty.io.AbstractEndPoint ep
              ? ep.getScheduler()
              : null;
      if (scheduler != null) {
        scheduler.schedule(() -> connection.getEndPoint().close(), millis, TimeUnit.MILLISECONDS);
      }
    }

    @Override
    public void onClosed(Connection connection) {}
  }

  /**
   * Keeps at most {@code max} connections open without ever refusing to accept: each connection
   * beyond the cap closes the oldest that has not delivered a request yet, else the oldest. A probe
   * sends its request at once and is answered in milliseconds, so it is never the oldest idle one
   * for long; idle connections from others are what gets cut.
   */
  private static final class EvictOldest implements Connection.Listener {
    private final int max;
    private final Deque<Connection> open = new ArrayDeque<>();

    EvictOldest(int max) {
      this.max = max;
    }

    @Override
    public void onOpened(Connection connection) {
      Connection victim = null;
      synchronized (open) {
        open.addLast(connection);
        if (open.size() > max) {
          for (Connection c : open) {
            if (c != connection && c.getMessagesIn() <= 0) {
              victim = c;
              break;
            }
          }
          if (victim == null) {
            victim = open.peekFirst();
          }
          open.remove(victim);
        }
      }
      if (victim != null) {
        victim.getEndPoint().close();
      }
    }

    @Override
    public void onClosed(Connection connection) {
      synchronized (open) {
        open.remove(connection);
      }
    }
  }

  int port() {
    return connector.getLocalPort();
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
    identity.put("state", h.state().name().toLowerCase(Locale.ROOT));
    identity.put("error", h.lastError());
    identity.put("consecutive_failures", h.consecutiveFailures());
    identity.put(
        "next_renewal", h.nextRenewal() == null ? null : h.nextRenewal().toString());
    identity.put("expiry", h.expiry() == null ? null : h.expiry().toString());
    identity.put(
        "clock_offset_seconds", h.clockOffset() == null ? 0 : h.clockOffset().toMillis() / 1000.0);
    body.put("identity", identity);
    Map<String, Object> outputs = new LinkedHashMap<>();
    for (OutputStatus o : outs) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("status", o.state().name().toLowerCase(Locale.ROOT));
      m.put("error", o.error());
      m.put("written_at", o.writtenAt() == null ? null : o.writtenAt().toString());
      outputs.put(o.name(), m);
    }
    body.put("outputs", outputs);
    return new Readiness(ready, body);
  }

  /** True for a Host header naming an IP address or one of the accepted names (any port). */
  boolean hostAllowed(String host) {
    if (host == null) {
      return true; // HTTP/1.0 without Host: not what a browser sends
    }
    String h = host.strip().toLowerCase(Locale.ROOT);
    if (h.startsWith("[")) {
      int end = h.indexOf(']');
      return end > 1
          && (end == h.length() - 1 || h.charAt(end + 1) == ':')
          && h.substring(1, end).matches("[0-9a-f:.]+");
    }
    int colon = h.lastIndexOf(':');
    if (colon >= 0) {
      if (!h.substring(colon + 1).matches("[0-9]{1,5}")) {
        return false;
      }
      h = h.substring(0, colon);
    }
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    return h.matches("[0-9]{1,3}(\\.[0-9]{1,3}){3}") || hostNames.contains(h);
  }

  private final class Routes extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      String host = request.getHeaders().get(HttpHeader.HOST);
      if (!hostAllowed(host)) {
        answer(
            request,
            response,
            callback,
            421,
            "text/plain; charset=utf-8",
            "unexpected Host header; use this listener's address\n");
        return true;
      }
      String method = request.getMethod();
      String path = Request.getPathInContext(request);
      if (!List.of("/livez", "/readyz", "/metrics").contains(path)) {
        answer(request, response, callback, 404, "text/plain; charset=utf-8", "not found\n");
        return true;
      }
      if (!HttpMethod.GET.is(method) && !HttpMethod.HEAD.is(method)) {
        response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
        answer(
            request, response, callback, 405, "text/plain; charset=utf-8", "method not allowed\n");
        return true;
      }
      switch (path) {
        case "/livez" ->
          answer(request, response, callback, 200, "text/plain; charset=utf-8", "ok\n");
        case "/readyz" -> {
          Readiness r = readiness(identity.get());
          answer(
              request,
              response,
              callback,
              r.ready() ? 200 : 503,
              "application/json",
              JSON.writerWithDefaultPrettyPrinter().writeValueAsString(r.body()) + "\n");
        }
        default -> {
          MachineIdentity id = identity.get();
          answer(
              request,
              response,
              callback,
              200,
              "text/plain; version=0.0.4; charset=utf-8",
              metrics.render(
                  id == null ? null : id.health(), id == null ? List.of() : id.outputStatus()));
        }
      }
      return true;
    }
  }

  private static void answer(
      Request request, Response response, Callback callback, int code, String type, String body) {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    response.setStatus(code);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    boolean head = HttpMethod.HEAD.is(request.getMethod());
    response.write(true, head ? null : ByteBuffer.wrap(bytes), callback);
  }

  @Override
  public void close() {
    try {
      server.stop();
    } catch (Exception e) {
      LOG.warn("stopping the diagnostics listener: {}", e.toString());
    }
  }
}
