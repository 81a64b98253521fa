package dev.machineid.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * A TCP proxy on {@code 127.0.0.1} that forwards to one target and can be told, while it runs,
 * to fail in the ways networks fail. It never terminates TLS: bytes pass through untouched, so
 * the client still authenticates the real server and the server still sees the client's
 * certificate.
 *
 * <pre>{@code
 * try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
 *     // point the client at https://127.0.0.1:<proxy.port()>/
 *     proxy.dropResponses(1);      // the next connection's request is processed, its answer lost
 *     proxy.dropNextAnswer();      // the next request on any connection is processed, its answer lost
 *     proxy.refuseConnections();   // new connections are reset at once
 *     proxy.passThrough();         // back to normal
 * }
 * }</pre>
 *
 * <h2>Modes</h2>
 * A mode applies to connections accepted after it is set; connections already open keep the
 * behaviour they started with, except for {@link #dropNextAnswer()}, which applies to every
 * connection, open or new. The mode methods may be called from any thread.
 * <ul>
 *   <li>{@link #passThrough()} (the default): bytes are copied both ways; a half-close (EOF) on
 *       one side is passed on to the other.</li>
 *   <li>{@link #refuseConnections()}: each new connection is accepted and at once reset (closed
 *       with {@code SO_LINGER} 0). The client's connect succeeds, its first read or write fails
 *       with an {@code IOException} (typically "Connection reset"), and a TLS handshake fails.</li>
 *   <li>{@link #dropResponses(int)}: for the next {@code n} connections the request reaches the
 *       server but the response never reaches the client. Bytes are forwarded both ways through
 *       the TLS handshake. From the client's first TLS {@code application_data} record on,
 *       whatever the server sends is swallowed, and once the server sends something after the
 *       client's request, the proxy ends the client's side of the connection (a TCP half-close:
 *       the client reads an end of stream and fails with an {@code IOException}, while anything
 *       it still sends is forwarded). When the client closes, the server's side gets an end of
 *       stream and is closed once the server closes it.
 *       <p>The proxy finds the request by reading TLS record headers only, never by decrypting.
 *       With TLS 1.2 the client's first {@code application_data} record is the request. With
 *       TLS 1.3 (recognised by encrypted server records during the handshake) the client's
 *       final handshake flight is itself encrypted, so the proxy waits for the client's second
 *       {@code application_data} record. That is exact for clients that pack that flight into
 *       one record, such as the JDK's {@code SSLEngine} ({@code java.net.http}); the JDK's
 *       {@code SSLSocket} (OkHttp, {@code HttpsURLConnection}) sends one record per handshake
 *       message, so the half-close may come before the request, which such blocking clients
 *       still write before they read the end of stream. If the client does not start with a
 *       TLS handshake, its first bytes are taken as the request.
 *       <p>Clients may retry an idempotent request on a new connection when a connection ends
 *       without a response (the JDK's {@code HttpClient} retries a {@code GET} once); use
 *       {@code dropResponses(2)} or a {@code POST} when the retry should fail too.</li>
 *   <li>{@link #dropNextAnswer()}: the next request the client sends, on whichever connection,
 *       already open or new, is forwarded to the server, but its answer never reaches the client.
 *       For clients that pool connections this is the way to lose one call's answer: the call
 *       that comes next need not open a connection. The request is found as for
 *       {@code dropResponses}: on a connection past its TLS handshake it is the client's next
 *       {@code application_data} record (the next bytes, if the client does not speak TLS); on a
 *       new connection it is the record the handshake is followed by, which is exact for
 *       {@code SSLEngine} clients such as {@code java.net.http}. The connection that carries the
 *       request claims the drop before forwarding it; from then on whatever the server sends on
 *       that connection is swallowed, and the first of it ends the client's side of the
 *       connection (a TCP half-close: the client reads an end of stream and fails with an
 *       {@code IOException}). Clients do not send a request on a keep-alive connection before
 *       the previous answer has arrived (HTTP/1.1 without pipelining), so the answer lost is
 *       the request's. One drop is armed at a time and used by one request; later requests pass
 *       through. {@link #droppedAnswerCount()} tells whether a request has claimed it. The same
 *       note on retried idempotent requests applies. With TLS 1.3 every record past the
 *       handshake is an {@code application_data} record, so a client's {@code close_notify} or
 *       key update on an open connection would take the drop as well: arm it just before the
 *       call whose answer should be lost.</li>
 * </ul>
 *
 * <p>Accepted and outgoing sockets use {@code TCP_NODELAY}. Threads are daemon threads named
 * {@code machineid-testkit-proxy-<n>}. {@link #close()} is idempotent, stops listening and closes
 * every connection; after it, the mode methods throw {@link IllegalStateException}.
 */
public final class FaultyProxy implements AutoCloseable {

  private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
  private static final int CONNECT_TIMEOUT_MILLIS = 10_000;
  private static final int BUFFER_SIZE = 16 * 1024;

  private enum Mode {
    PASS_THROUGH,
    REFUSE
  }

  private final InetSocketAddress target;
  private final ServerSocket serverSocket;
  private final ExecutorService threads;
  private final Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final LongAdder connections = new LongAdder();
  private final Object modeLock = new Object();
  private Mode mode = Mode.PASS_THROUGH;
  private int dropsLeft;
  private boolean answerDropArmed;
  private final LongAdder droppedAnswers = new LongAdder();

  private final Thread acceptor;

  private FaultyProxy(InetSocketAddress target, ServerSocket serverSocket) {
    this.target = target;
    this.serverSocket = serverSocket;
    NamedDaemonThreads factory = new NamedDaemonThreads("machineid-testkit-proxy-", THREAD_NUMBERS);
    this.threads = Executors.newCachedThreadPool(factory);
    this.acceptor = factory.newThread(this::acceptLoop);
    acceptor.start();
  }

  /**
   * Starts a proxy on an ephemeral port of {@code 127.0.0.1}, forwarding to {@code targetHost:targetPort}.
   *
   * @param targetHost the host to forward to, e.g. {@code "127.0.0.1"}
   * @param targetPort the port to forward to
   * @return the running proxy, in pass-through mode
   * @throws IllegalArgumentException if the port is out of range
   * @throws java.io.UncheckedIOException if the proxy cannot listen
   */
  public static FaultyProxy start(String targetHost, int targetPort) {
    Objects.requireNonNull(targetHost, "targetHost");
    if (targetPort < 1 || targetPort > 65_535) {
      throw new IllegalArgumentException("targetPort must be 1..65535 but was " + targetPort);
    }
    return start(new InetSocketAddress(targetHost, targetPort));
  }

  /**
   * Starts a proxy on an ephemeral port of {@code 127.0.0.1}, forwarding to {@code target}.
   *
   * @param target the address to forward to; resolved at each connection if unresolved
   * @return the running proxy, in pass-through mode
   * @throws java.io.UncheckedIOException if the proxy cannot listen
   */
  public static FaultyProxy start(InetSocketAddress target) {
    Objects.requireNonNull(target, "target");
    try {
      ServerSocket socket = new ServerSocket(0, 128, MtlsServer.LOOPBACK_V4);
      return new FaultyProxy(target, socket);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("could not listen on 127.0.0.1: " + e, e);
    }
  }

  /** @return the port the proxy listens on, on {@code 127.0.0.1} */
  public int port() {
    return serverSocket.getLocalPort();
  }

  /** @return the address the proxy forwards to */
  public InetSocketAddress target() {
    return target;
  }

  /** @return the number of client connections accepted so far, in every mode */
  public long connectionCount() {
    return connections.sum();
  }

  /**
   * @return the number of answers lost to {@link #dropNextAnswer()} so far: the number of
   *     requests that claimed an armed drop
   */
  public long droppedAnswerCount() {
    return droppedAnswers.sum();
  }

  /**
   * Forwards new connections unchanged, and cancels pending {@link #dropResponses(int)} and a
   * {@link #dropNextAnswer()} no request has claimed yet.
   */
  public void passThrough() {
    setMode(Mode.PASS_THROUGH, 0, true);
  }

  /**
   * Resets every new connection as soon as it is accepted, until another mode is set; cancels
   * pending {@link #dropResponses(int)} and {@link #dropNextAnswer()}.
   */
  public void refuseConnections() {
    setMode(Mode.REFUSE, 0, true);
  }

  /**
   * Makes the next {@code connections} connections lose their responses (see the class
   * description); later connections pass through. An armed {@link #dropNextAnswer()} is kept.
   *
   * @param connections how many new connections to affect; positive
   * @throws IllegalArgumentException if {@code connections} is not positive
   */
  public void dropResponses(int connections) {
    if (connections <= 0) {
      throw new IllegalArgumentException("connections must be positive but was " + connections);
    }
    setMode(Mode.PASS_THROUGH, connections, false);
  }

  /**
   * Makes the next request on any connection, already open or new, lose its answer (see the
   * class description); the requests after it pass through. Calling it again before a request
   * has claimed the drop changes nothing: one answer is lost. The mode for new connections is
   * left as it is (pending {@link #dropResponses(int)} are kept; while connections are refused,
   * the drop waits for a request on a connection that is open).
   *
   * @throws IllegalStateException if the proxy is closed
   */
  public void dropNextAnswer() {
    synchronized (modeLock) {
      if (closed.get()) {
        throw new IllegalStateException("FaultyProxy " + this + " is closed");
      }
      answerDropArmed = true;
    }
  }

  /** Stops listening and closes every open connection. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    MtlsServer.closeQuietly(serverSocket);
    for (Socket socket : openSockets) {
      MtlsServer.closeQuietly(socket);
    }
    threads.shutdownNow();
    // the listening socket is released only once the thread blocked in accept() has returned:
    // wait for it, so the port is free when close() returns
    try {
      acceptor.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "FaultyProxy[127.0.0.1:" + port() + " -> " + target + (closed.get() ? ", closed]" : "]");
  }

  private void setMode(Mode newMode, int drops, boolean cancelAnswerDrop) {
    synchronized (modeLock) {
      if (closed.get()) {
        throw new IllegalStateException("FaultyProxy " + this + " is closed");
      }
      mode = newMode;
      dropsLeft = drops;
      if (cancelAnswerDrop) {
        answerDropArmed = false;
      }
    }
  }

  /** Takes the armed {@link #dropNextAnswer()} for the request about to be forwarded, if there is one. */
  private boolean claimAnswerDrop() {
    synchronized (modeLock) {
      if (!answerDropArmed) {
        return false;
      }
      answerDropArmed = false;
      droppedAnswers.increment();
      return true;
    }
  }

  private void acceptLoop() {
    while (!closed.get()) {
      Socket client;
      try {
        client = serverSocket.accept();
      } catch (IOException e) {
        if (closed.get()) {
          return;
        }
        continue;
      }
      if (closed.get()) {
        // accepted in the moment close() ran: never serve it
        MtlsServer.closeQuietly(client);
        return;
      }
      connections.increment();
      boolean refuse;
      boolean drop = false;
      synchronized (modeLock) {
        refuse = mode == Mode.REFUSE;
        if (!refuse && dropsLeft > 0) {
          dropsLeft--;
          drop = true;
        }
      }
      if (refuse) {
        reset(client);
        continue;
      }
      openSockets.add(client);
      boolean dropResponses = drop;
      try {
        threads.execute(() -> connect(client, dropResponses));
      } catch (RejectedExecutionException e) {
        MtlsServer.closeQuietly(client);
        openSockets.remove(client);
      }
    }
  }

  private static void reset(Socket client) {
    try {
      client.setSoLinger(true, 0);
    } catch (IOException ignored) {
      // a plain close is the next best thing
    }
    MtlsServer.closeQuietly(client);
  }

  private void connect(Socket client, boolean dropResponses) {
    Socket server = new Socket();
    openSockets.add(server);
    try {
      client.setTcpNoDelay(true);
      server.setTcpNoDelay(true);
      InetSocketAddress address = target.isUnresolved()
          ? new InetSocketAddress(target.getHostString(), target.getPort())
          : target;
      server.connect(address, CONNECT_TIMEOUT_MILLIS);
    } catch (IOException e) {
      reset(client);
      MtlsServer.closeQuietly(server);
      openSockets.remove(client);
      openSockets.remove(server);
      return;
    }
    Connection connection = new Connection(client, server, dropResponses);
    if (closed.get()) {
      connection.closeBoth();
      return;
    }
    try {
      threads.execute(connection::serverToClient);
    } catch (RejectedExecutionException e) {
      connection.closeBoth();
      return;
    }
    connection.clientToServer();
  }

  /** One proxied connection: two pumps, and the bookkeeping dropResponses and dropNextAnswer need. */
  private final class Connection {
    private final Socket client;
    private final Socket server;
    private final boolean dropResponses;
    private final AtomicInteger pumpsRunning = new AtomicInteger(2);
    // Written by the client-to-server pump, read by the server-to-client pump; clientSpoke is
    // written last and read first, so whoever sees it true also sees clientIsTls.
    private volatile boolean clientSpoke;
    private volatile boolean clientIsTls;
    private volatile int clientApplicationRecords;
    // Set by the client-to-server pump before it forwards the request whose answer is dropped.
    private volatile boolean answerDropClaimed;
    // Written by the server-to-client pump during the handshake, before the server's encrypted
    // records reach the client, so before the client can send a request; read by both pumps.
    private volatile boolean tls13;
    // Only touched by the server-to-client pump.
    private boolean responseCutOff;

    Connection(Socket client, Socket server, boolean dropResponses) {
      this.client = client;
      this.server = server;
      this.dropResponses = dropResponses;
    }

    void clientToServer() {
      TlsRecordScanner scanner = new TlsRecordScanner();
      byte[] buffer = new byte[BUFFER_SIZE];
      try {
        InputStream in = client.getInputStream();
        OutputStream out = server.getOutputStream();
        int n;
        while ((n = in.read(buffer)) >= 0) {
          if (n == 0) {
            continue;
          }
          // Count before forwarding: a server reply to these bytes cannot come earlier.
          // Every connection counts, since dropNextAnswer() may be armed while it is open.
          if (!clientSpoke) {
            clientIsTls = TlsRecordScanner.looksLikeTls(buffer, n);
          }
          int recordsBefore = clientApplicationRecords;
          if (clientIsTls) {
            scanner.scan(buffer, 0, n, type -> {
              if (type == TlsRecordScanner.APPLICATION_DATA) {
                clientApplicationRecords++;
              }
            });
          }
          clientSpoke = true;
          if (!answerDropClaimed && carriesRequest(recordsBefore) && claimAnswerDrop()) {
            answerDropClaimed = true;
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        // client reset or closed (possibly by us): pass an end of stream on to the server
      } finally {
        shutdownOutput(server);
        pumpFinished();
      }
    }

    void serverToClient() {
      TlsRecordScanner scanner = new TlsRecordScanner();
      byte[] buffer = new byte[BUFFER_SIZE];
      boolean failed = false;
      try {
        InputStream in = server.getInputStream();
        OutputStream out = client.getOutputStream();
        int n;
        while ((n = in.read(buffer)) >= 0) {
          if (n == 0) {
            continue;
          }
          watchHandshake(scanner, buffer, n);
          if (answerDropClaimed) {
            cutOff();
            continue;
          }
          if (dropResponses && swallow()) {
            continue;
          }
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException e) {
        failed = true;
      } finally {
        if (failed) {
          closeBoth();
        } else {
          shutdownOutput(client);
        }
        pumpFinished();
      }
    }

    /**
     * True if the client bytes just counted (its application records went from
     * {@code recordsBefore} to the current count) carry a request: any bytes from a client
     * that does not speak TLS; with TLS, an {@code application_data} record past the handshake.
     */
    private boolean carriesRequest(int recordsBefore) {
      if (!clientIsTls) {
        return true;
      }
      int records = clientApplicationRecords;
      return records > recordsBefore && records >= (tls13 ? 2 : 1);
    }

    /** While the client is still in the TLS handshake, encrypted server records mean TLS 1.3. */
    private void watchHandshake(TlsRecordScanner scanner, byte[] buffer, int n) {
      if (!tls13 && clientSpoke && clientIsTls && clientApplicationRecords == 0) {
        scanner.scan(buffer, 0, n, type -> {
          if (type == TlsRecordScanner.APPLICATION_DATA) {
            tls13 = true;
          }
        });
      }
    }

    /**
     * Ends the client's side with a half-close: the client reads an end of stream, but
     * anything it still sends (a request counted too early) keeps flowing to the server.
     */
    private void cutOff() {
      if (!responseCutOff) {
        responseCutOff = true;
        shutdownOutput(client);
      }
    }

    /** Decides whether these server bytes are swallowed, closing the client's side when the response starts. */
    private boolean swallow() {
      if (responseCutOff) {
        return true;
      }
      if (!clientSpoke) {
        return false; // a server that speaks first (a greeting) is let through
      }
      boolean requestSent;
      if (clientIsTls) {
        int clientRecords = clientApplicationRecords;
        if (clientRecords == 0) {
          return false; // still in the handshake
        }
        requestSent = clientRecords >= (tls13 ? 2 : 1);
      } else {
        requestSent = true;
      }
      if (requestSent) {
        cutOff();
      }
      return true;
    }

    private void pumpFinished() {
      if (pumpsRunning.decrementAndGet() == 0) {
        closeBoth();
      }
    }

    void closeBoth() {
      MtlsServer.closeQuietly(client);
      MtlsServer.closeQuietly(server);
      openSockets.remove(client);
      openSockets.remove(server);
    }

    private void shutdownOutput(Socket socket) {
      try {
        if (!socket.isClosed() && !socket.isOutputShutdown()) {
          socket.shutdownOutput();
        }
      } catch (IOException ignored) {
        // the peer is gone already
      }
    }
  }
}
