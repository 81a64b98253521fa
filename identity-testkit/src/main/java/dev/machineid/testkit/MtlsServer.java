package dev.machineid.testkit;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

/**
 * A small HTTPS server on {@code 127.0.0.1} that requires a client certificate, for testing
 * code that connects with a machine identity.
 *
 * <pre>{@code
 * try (TestCertificateAuthority ca = TestCertificateAuthority.create("root");
 *      MtlsServer server = MtlsServer.builder()
 *              .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
 *              .trustedClientCAs(() -> List.of(ca.certificate()))
 *              .start()) {
 *     // point the client at server.url(), then:
 *     assertThat(server.seenSerials()).containsKey(clientCertificate.getSerialNumber().toString(16));
 * }
 * }</pre>
 *
 * <h2>Behaviour</h2>
 * <ul>
 *   <li>Listens on an ephemeral port of {@code 127.0.0.1}; {@link #url()} is
 *       {@code https://127.0.0.1:<port>/}. Its certificate therefore needs the IP address
 *       {@code 127.0.0.1} as a subject alternative name for clients that verify host names.</li>
 *   <li>Every TLS handshake requires a client certificate ({@code needClientAuth}). The chain is
 *       validated (PKIX) against the CA certificates that the {@code trustedClientCAs} supplier
 *       returns <em>at that handshake</em>, so a test can rotate or revoke trust while the server
 *       runs. An empty list, or a supplier that throws, rejects every client. The same list is
 *       sent to clients as the acceptable issuers (TLS 1.2 {@code certificate_authorities}).</li>
 *   <li>Speaks HTTP/1.1 with keep-alive (ALPN offers only {@code http/1.1}): a connection
 *       serves requests until the client closes it or sends {@code Connection: close}, so pooled
 *       connections are really reused. Each connection has its own thread, so many requests can
 *       run concurrently. Request bodies ({@code Content-Length} or chunked) are read and
 *       ignored.</li>
 *   <li>Answers every request with {@code 200} and a JSON body naming the client certificate,
 *       e.g. {@code {"subject":"CN=bot-1","serial":"5f3a…"}}; the serial is
 *       {@code certificate.getSerialNumber().toString(16)}, lower-case hex.</li>
 *   <li>Session resumption is left as the JDK does it: the server keeps its session cache, so a
 *       client may resume an earlier session. A resumed handshake does not present a client
 *       certificate again and does <em>not</em> consult {@code trustedClientCAs}; the session
 *       keeps the certificate validated when it was first established. A client that must show a
 *       new certificate (after rotation) has to avoid resumption, for example by invalidating its
 *       client session cache, as the SDK's TLS helpers do.</li>
 *   <li>Accepted sockets use {@code TCP_NODELAY}. Threads are daemon threads named
 *       {@code machineid-testkit-mtls-<n>}.</li>
 * </ul>
 *
 * <p>All counters and {@link #seenSerials()} are safe to read from any thread while the server
 * runs. {@link #close()} is idempotent, stops listening and closes every open connection.
 */
public final class MtlsServer implements AutoCloseable {

  private static final AtomicInteger THREAD_NUMBERS = new AtomicInteger();
  private static final int MAX_LINE = 16 * 1024;
  private static final int MAX_HEADERS = 200;
  static final InetAddress LOOPBACK_V4 = loopbackV4();

  private final SSLServerSocket serverSocket;
  private final Clock clock;
  private final ExecutorService connectionThreads;
  private final Set<Socket> openSockets = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Map<String, Instant> seenSerials = new LinkedHashMap<>();
  private final LongAdder connections = new LongAdder();
  private final LongAdder handshakes = new LongAdder();
  private final LongAdder failedHandshakes = new LongAdder();
  private final LongAdder requests = new LongAdder();
  private final URI url;

  private final Thread acceptor;

  private MtlsServer(SSLServerSocket serverSocket, Clock clock) {
    this.serverSocket = serverSocket;
    this.clock = clock;
    NamedDaemonThreads threads = new NamedDaemonThreads("machineid-testkit-mtls-", THREAD_NUMBERS);
    this.connectionThreads = Executors.newCachedThreadPool(threads);
    this.url = URI.create("https://127.0.0.1:" + serverSocket.getLocalPort() + "/");
    this.acceptor = threads.newThread(this::acceptLoop);
    acceptor.start();
  }

  /** @return a builder; {@link Builder#serverCertificate} and {@link Builder#trustedClientCAs} are required */
  public static Builder builder() {
    return new Builder();
  }

  /** @return {@code https://127.0.0.1:<port>/} */
  public URI url() {
    return url;
  }

  /** @return the port the server listens on */
  public int port() {
    return serverSocket.getLocalPort();
  }

  /**
   * Returns every distinct client certificate serial that completed a handshake, in the order
   * first seen, with the time (from the builder's clock) it was first seen. Serials are
   * lower-case hex, as {@code getSerialNumber().toString(16)} prints them.
   *
   * @return an unmodifiable snapshot
   */
  public Map<String, Instant> seenSerials() {
    synchronized (seenSerials) {
      return Collections.unmodifiableMap(new LinkedHashMap<>(seenSerials));
    }
  }

  /** @return the number of HTTP requests read so far (counted before the response is written) */
  public long requestCount() {
    return requests.sum();
  }

  /**
   * Returns the number of TLS handshakes that completed, one per established connection
   * (full or resumed). Several requests over one kept-alive connection count once, so this
   * shows whether a client reuses its connections.
   *
   * @return the number of successful handshakes
   */
  public long handshakeCount() {
    return handshakes.sum();
  }

  /**
   * @return the number of handshakes that failed, for example because the client presented no
   *     certificate or one that the trusted client CAs do not validate
   */
  public long failedHandshakeCount() {
    return failedHandshakes.sum();
  }

  /** @return the number of TCP connections accepted */
  public long connectionCount() {
    return connections.sum();
  }

  /** Stops listening and closes all open connections. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closeQuietly(serverSocket);
    for (Socket socket : openSockets) {
      closeQuietly(socket);
    }
    connectionThreads.shutdownNow();
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
    return "MtlsServer[" + url + (closed.get() ? ", closed]" : "]");
  }

  private void acceptLoop() {
    while (!closed.get()) {
      Socket socket;
      try {
        socket = serverSocket.accept();
      } catch (IOException e) {
        if (closed.get()) {
          return;
        }
        continue;
      }
      if (closed.get()) {
        // accepted in the moment close() ran: never serve it
        closeQuietly(socket);
        return;
      }
      connections.increment();
      openSockets.add(socket);
      if (closed.get()) {
        closeQuietly(socket);
        return;
      }
      try {
        connectionThreads.execute(() -> serve((SSLSocket) socket));
      } catch (RejectedExecutionException e) {
        closeQuietly(socket);
      }
    }
  }

  private void serve(SSLSocket socket) {
    try (socket) {
      socket.setTcpNoDelay(true);
      try {
        socket.startHandshake();
      } catch (IOException e) {
        failedHandshakes.increment();
        return;
      }
      X509Certificate client = clientCertificate(socket);
      String subject = client.getSubjectX500Principal().getName();
      String serial = client.getSerialNumber().toString(16);
      synchronized (seenSerials) {
        seenSerials.putIfAbsent(serial, clock.instant());
      }
      handshakes.increment();
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      while (!closed.get()) {
        Request request = readRequest(in);
        if (request == null) {
          return;
        }
        requests.increment();
        writeResponse(out, request, subject, serial);
        if (!request.keepAlive()) {
          return;
        }
      }
    } catch (IOException | RuntimeException e) {
      // The client went away or sent something unparseable: the connection ends here.
    } finally {
      openSockets.remove(socket);
    }
  }

  private static X509Certificate clientCertificate(SSLSocket socket) throws IOException {
    Certificate[] peer = socket.getSession().getPeerCertificates();
    return (X509Certificate) peer[0];
  }

  private record Request(String method, String target, boolean keepAlive) {}

  /** Reads one request, its headers and its body; null at a clean end of stream between requests. */
  private static Request readRequest(InputStream in) throws IOException {
    String requestLine = readLine(in);
    while (requestLine != null && requestLine.isEmpty()) {
      requestLine = readLine(in); // tolerate stray CRLF between requests (RFC 9112 §2.2)
    }
    if (requestLine == null) {
      return null;
    }
    String[] parts = requestLine.split(" ");
    if (parts.length != 3 || !parts[2].startsWith("HTTP/1.")) {
      throw new IOException("not an HTTP/1.x request line: " + requestLine);
    }
    boolean http10 = parts[2].equals("HTTP/1.0");
    long contentLength = 0;
    boolean chunked = false;
    String connection = "";
    for (int i = 0; ; i++) {
      String line = readLine(in);
      if (line == null) {
        throw new EOFException("connection closed inside the request headers");
      }
      if (line.isEmpty()) {
        break;
      }
      if (i >= MAX_HEADERS) {
        throw new IOException("more than " + MAX_HEADERS + " request headers");
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IOException("malformed header line: " + line);
      }
      String name = line.substring(0, colon).trim().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).trim();
      switch (name) {
        case "content-length" -> contentLength = Long.parseLong(value);
        case "transfer-encoding" -> chunked = value.toLowerCase(Locale.ROOT).contains("chunked");
        case "connection" -> connection = value.toLowerCase(Locale.ROOT);
        default -> {}
      }
    }
    if (chunked) {
      skipChunkedBody(in);
    } else {
      skip(in, contentLength);
    }
    boolean keepAlive = http10 ? connection.contains("keep-alive") : !connection.contains("close");
    return new Request(parts[0], parts[1], keepAlive);
  }

  private static void skipChunkedBody(InputStream in) throws IOException {
    while (true) {
      String sizeLine = readLine(in);
      if (sizeLine == null) {
        throw new EOFException("connection closed inside a chunked body");
      }
      int semicolon = sizeLine.indexOf(';');
      long size =
          Long.parseLong((semicolon < 0 ? sizeLine : sizeLine.substring(0, semicolon)).trim(), 16);
      if (size == 0) {
        String trailer;
        do {
          trailer = readLine(in);
        } while (trailer != null && !trailer.isEmpty());
        return;
      }
      skip(in, size);
      readLine(in); // the CRLF after the chunk
    }
  }

  private static void skip(InputStream in, long count) throws IOException {
    long left = count;
    while (left > 0) {
      long skipped = in.skip(left);
      if (skipped <= 0) {
        if (in.read() < 0) {
          throw new EOFException("connection closed inside a request body");
        }
        skipped = 1;
      }
      left -= skipped;
    }
  }

  /** A line without its CRLF or LF, decoded as ISO-8859-1; null at end of stream before any byte. */
  private static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream(128);
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int length =
            bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
      }
      if (line.size() >= MAX_LINE) {
        throw new IOException("request line or header longer than " + MAX_LINE + " bytes");
      }
      line.write(b);
    }
    if (line.size() == 0) {
      return null;
    }
    throw new EOFException("connection closed inside a line");
  }

  private static void writeResponse(
      OutputStream out, Request request, String subject, String serial) throws IOException {
    byte[] body = ("{\"subject\":\"" + jsonEscape(subject) + "\",\"serial\":\"" + serial + "\"}\n")
        .getBytes(StandardCharsets.UTF_8);
    String head = "HTTP/1.1 200 OK\r\n"
        + "Content-Type: application/json\r\n"
        + "Content-Length: " + body.length + "\r\n"
        + (request.keepAlive() ? "" : "Connection: close\r\n")
        + "\r\n";
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    if (!request.method().equals("HEAD")) {
      out.write(body);
    }
    out.flush();
  }

  private static String jsonEscape(String value) {
    StringBuilder escaped = new StringBuilder(value.length() + 8);
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      switch (c) {
        case '"' -> escaped.append("\\\"");
        case '\\' -> escaped.append("\\\\");
        default -> {
          if (c < 0x20) {
            escaped.append(String.format("\\u%04x", (int) c));
          } else {
            escaped.append(c);
          }
        }
      }
    }
    return escaped.toString();
  }

  private static InetAddress loopbackV4() {
    try {
      return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
    } catch (java.net.UnknownHostException e) {
      throw new IllegalStateException(e); // cannot happen: the address has four bytes
    }
  }

  static void closeQuietly(java.io.Closeable closeable) {
    try {
      closeable.close();
    } catch (IOException ignored) {
      // closing for cleanup; nothing to report
    }
  }

  /**
   * Configures an {@link MtlsServer}. Each setting may be given once; a second call throws
   * {@link IllegalStateException}.
   */
  public static final class Builder {
    private PrivateKey key;
    private X509Certificate[] chain;
    private Supplier<List<X509Certificate>> trustedClientCAs;
    private Clock clock;

    private Builder() {}

    /**
     * Sets the certificate the server presents.
     *
     * @param issued a server certificate, e.g. from
     *     {@link TestCertificateAuthority#issueServerCertificate(List)} for {@code 127.0.0.1}
     * @return this builder
     */
    public Builder serverCertificate(TestCertificateAuthority.Issued issued) {
      Objects.requireNonNull(issued, "issued");
      return serverCertificate(issued.privateKey(), issued.chainArray());
    }

    /**
     * Sets the key and chain the server presents; the chain starts with the server's own
     * certificate. The key is held in memory for the server's lifetime.
     *
     * @param key the server certificate's private key
     * @param chain the server certificate first, then any intermediates; not empty
     * @return this builder
     */
    public Builder serverCertificate(PrivateKey key, X509Certificate... chain) {
      Objects.requireNonNull(key, "key");
      Objects.requireNonNull(chain, "chain");
      if (this.key != null) {
        throw new IllegalStateException("serverCertificate is already set");
      }
      if (chain.length == 0) {
        throw new IllegalArgumentException("chain is empty: give at least the server certificate");
      }
      for (int i = 0; i < chain.length; i++) {
        Objects.requireNonNull(chain[i], "chain[" + i + "]");
      }
      this.key = key;
      this.chain = chain.clone();
      return this;
    }

    /**
     * Sets where the CA certificates trusted for client certificates come from. The supplier
     * is called during every full handshake (so it must be thread-safe and fast), which lets a
     * test change the trusted CAs while the server runs.
     *
     * @param trustedClientCAs returns the currently trusted CA certificates
     * @return this builder
     */
    public Builder trustedClientCAs(Supplier<List<X509Certificate>> trustedClientCAs) {
      Objects.requireNonNull(trustedClientCAs, "trustedClientCAs");
      if (this.trustedClientCAs != null) {
        throw new IllegalStateException("trustedClientCAs is already set");
      }
      this.trustedClientCAs = trustedClientCAs;
      return this;
    }

    /**
     * Sets the clock that dates {@link MtlsServer#seenSerials()}; the system UTC clock by default.
     *
     * @param clock the clock
     * @return this builder
     */
    public Builder clock(Clock clock) {
      Objects.requireNonNull(clock, "clock");
      if (this.clock != null) {
        throw new IllegalStateException("clock is already set");
      }
      this.clock = clock;
      return this;
    }

    /**
     * Binds an ephemeral port on {@code 127.0.0.1} and starts accepting connections.
     *
     * @return the running server; close it when done
     * @throws IllegalStateException if the server certificate or trusted client CAs are missing
     * @throws java.io.UncheckedIOException if the port cannot be bound
     */
    public MtlsServer start() {
      if (key == null) {
        throw new IllegalStateException(
            "serverCertificate is not set: give it an Issued certificate for 127.0.0.1");
      }
      if (trustedClientCAs == null) {
        throw new IllegalStateException(
            "trustedClientCAs is not set: give it e.g. () -> List.of(ca.certificate())");
      }
      SSLServerSocket socket = null;
      try {
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(
            new KeyManager[] {new TestCertificateAuthority.FixedKeyManager(key, chain)},
            new TrustManager[] {new ClientCaTrustManager(trustedClientCAs)},
            null);
        socket = (SSLServerSocket)
            context.getServerSocketFactory().createServerSocket(0, 128, LOOPBACK_V4);
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setNeedClientAuth(true);
        parameters.setApplicationProtocols(new String[] {"http/1.1"});
        socket.setSSLParameters(parameters);
        return new MtlsServer(socket, clock == null ? Clock.systemUTC() : clock);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("could not set up TLS for the MtlsServer: " + e, e);
      } catch (IOException e) {
        if (socket != null) {
          closeQuietly(socket);
        }
        throw new java.io.UncheckedIOException("could not listen on 127.0.0.1: " + e, e);
      }
    }
  }
}
