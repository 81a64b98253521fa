package dev.machineid.issuer.internal.http;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The overall time limit of a request, on top of the idle timeout (which only bounds each blocked
 * read or write, so a client that trickles one byte just inside it could hold a connection for
 * hours). A connection must deliver its first request (TLS handshake and request head) within the
 * limit of being opened, and every request must be read and answered within the limit of reaching
 * the handler; otherwise the connection is closed. Between requests on a kept-alive connection only
 * the idle timeout applies.
 *
 * <p>A sweep every {@code limit / 4} (at least 100 ms, at most 1 s) checks the open HTTP
 * connections, so a connection is closed between {@code limit} and {@code limit} plus one sweep
 * interval after its deadline started.
 */
public final class RequestDeadlines implements Connection.Listener {
  private static final Logger LOG = LoggerFactory.getLogger(RequestDeadlines.class);

  private final long limitNanos;
  private final LongSupplier nanoTime;
  private final Runnable onTimeout;
  private final Map<Connection, State> open = new ConcurrentHashMap<>();
  private volatile Scheduler.Task sweep;

  /** Per connection: when its current deadline started, or -1 when it is idle between requests. */
  private static final class State {
    final EndPoint endPoint;
    volatile long since;
    volatile boolean first = true;

    State(EndPoint endPoint, long since) {
      this.endPoint = endPoint;
      this.since = since;
    }
  }

  /**
   * @param limit the longest a connection may take to deliver its first request, and a request to
   *     be read and answered
   * @param onTimeout called once for each connection closed for exceeding it (metrics)
   */
  public RequestDeadlines(java.time.Duration limit, LongSupplier nanoTime, Runnable onTimeout) {
    if (limit.isNegative() || limit.isZero()) {
      throw new IllegalArgumentException("the request time limit must be positive, got " + limit);
    }
    this.limitNanos = limit.toNanos();
    this.nanoTime = nanoTime;
    this.onTimeout = onTimeout;
  }

  /** Starts the periodic check on {@code scheduler}; it stops when the scheduler stops. */
  public void start(Scheduler scheduler) {
    long period = Math.max(100, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(limitNanos) / 4));
    schedule(scheduler, period);
  }

  private void schedule(Scheduler scheduler, long periodMillis) {
    if (!scheduler.isRunning()) {
      return;
    }
    sweep = scheduler.schedule(
        () -> {
          try {
            check();
          } catch (RuntimeException e) {
            LOG.warn("request time limit check failed: {}", e.toString());
          }
          schedule(scheduler, periodMillis);
        },
        periodMillis,
        TimeUnit.MILLISECONDS);
  }

  /** Stops the periodic check. */
  public void stop() {
    Scheduler.Task t = sweep;
    if (t != null) {
      t.cancel();
    }
  }

  /** Closes every connection whose deadline has passed; returns how many. */
  int check() {
    long now = nanoTime.getAsLong();
    int closed = 0;
    for (Map.Entry<Connection, State> e : open.entrySet()) {
      State s = e.getValue();
      long since = s.since;
      if (since >= 0 && now - since > limitNanos && open.remove(e.getKey(), s)) {
        LOG.info(
            "closing a connection from {}: {} took longer than the request time limit of {} ms",
            s.endPoint.getRemoteSocketAddress(),
            s.first ? "the TLS handshake and first request" : "reading and answering a request",
            TimeUnit.NANOSECONDS.toMillis(limitNanos));
        onTimeout.run();
        s.endPoint.close(new java.util.concurrent.TimeoutException("request time limit exceeded"));
        closed++;
      }
    }
    return closed;
  }

  @Override
  public void onOpened(Connection connection) {
    // The HTTP connection rides on the decrypted end point; closing it closes the TLS connection.
    if (!(connection instanceof SslConnection)) {
      open.put(connection, new State(connection.getEndPoint(), nanoTime.getAsLong()));
    }
  }

  @Override
  public void onClosed(Connection connection) {
    open.remove(connection);
  }

  /** A request reached the handler: its deadline starts now. */
  public void requestStarted(Request request) {
    State s = open.get(request.getConnectionMetaData().getConnection());
    if (s != null) {
      s.first = false;
      s.since = nanoTime.getAsLong();
    }
  }

  /** The answer to a request was sent (or failed): the connection is idle again. */
  public void requestFinished(Request request) {
    State s = open.get(request.getConnectionMetaData().getConnection());
    if (s != null) {
      s.since = -1;
    }
  }

  /** Open HTTP connections being tracked (for tests and diagnostics). */
  int tracked() {
    return open.size();
  }
}
