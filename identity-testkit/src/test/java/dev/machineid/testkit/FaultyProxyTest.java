package dev.machineid.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FaultyProxyTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private TestCertificateAuthority ca;
  private MtlsServer server;
  private TestCertificateAuthority.Issued clientCertificate;

  @BeforeEach
  void startServer() {
    ca = TestCertificateAuthority.create("test root");
    server = MtlsServer.builder()
        .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
        .trustedClientCAs(() -> List.of(ca.certificate()))
        .start();
    clientCertificate = ca.issueClientCertificate("bot", Duration.ofHours(1));
  }

  @AfterEach
  void stopServer() {
    server.close();
    ca.close();
  }

  @Test
  void passThroughCopiesBytesBothWaysAndPassesOnTheClientsEndOfStream() throws Exception {
    try (EchoServer echo = new EchoServer();
        FaultyProxy proxy = FaultyProxy.start("127.0.0.1", echo.port());
        Socket socket = connect(proxy)) {
      socket.getOutputStream().write("hello, proxy".getBytes(StandardCharsets.UTF_8));
      socket.shutdownOutput();

      assertThat(new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
          .isEqualTo("hello, proxy");
      assertThat(proxy.connectionCount()).isEqualTo(1);
    }
  }

  @Test
  void passThroughLeavesTlsUntouchedSoTheServerSeesTheClientCertificateAndConnectionsStayAlive()
      throws Exception {
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      HttpClient client = MtlsServerTest.httpClient(ca.sslContext(clientCertificate));

      for (int i = 0; i < 3; i++) {
        HttpResponse<String> response =
            client.send(get(proxy), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains(MtlsServerTest.serial(clientCertificate));
      }

      assertThat(server.seenSerials()).containsOnlyKeys(MtlsServerTest.serial(clientCertificate));
      assertThat(server.handshakeCount()).isEqualTo(1);
      assertThat(proxy.connectionCount()).isEqualTo(1);
    }
  }

  @Test
  void refusedConnectionsAreResetAndPassThroughRestoresService() throws Exception {
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      proxy.refuseConnections();

      try (Socket socket = connect(proxy)) {
        assertThat(endsOrFails(socket.getInputStream())).isTrue();
      }
      HttpClient client = MtlsServerTest.httpClient(ca.sslContext(clientCertificate));
      assertThatThrownBy(() -> client.send(get(proxy), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      assertThat(server.connectionCount()).isZero();

      proxy.passThrough();

      assertThat(client.send(get(proxy), HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(200);
      assertThat(proxy.connectionCount()).isGreaterThanOrEqualTo(3);
    }
  }

  /**
   * POST, because the JDK client retries an idempotent GET once on a new connection when a
   * connection ends without a response, and that retry would pass through.
   */
  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void droppedResponseReachesTheServerButTheHttpClientGetsAnIOException(String protocol)
      throws Exception {
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      HttpClient client = HttpClient.newBuilder()
          .sslContext(ca.sslContext(clientCertificate))
          .sslParameters(new SSLParameters(null, new String[] {protocol}))
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(TIMEOUT)
          .build();
      proxy.dropResponses(1);

      assertThatThrownBy(
              () -> client.send(post(proxy, "lost"), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      Poll.until(TIMEOUT, () -> server.requestCount() == 1, () -> "the server got the request");

      HttpResponse<String> after =
          client.send(post(proxy, "kept"), HttpResponse.BodyHandlers.ofString());
      assertThat(after.statusCode()).isEqualTo(200);
      assertThat(server.requestCount()).isEqualTo(2);
      assertThat(proxy.connectionCount()).isEqualTo(2);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void droppedResponseReachesTheServerButABlockingTlsSocketSeesTheConnectionEnd(String protocol)
      throws Exception {
    SSLContext context = ca.sslContext(clientCertificate);
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      proxy.dropResponses(1);
      try (SSLSocket socket =
          (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", proxy.port())) {
        socket.setEnabledProtocols(new String[] {protocol});
        socket.setSoTimeout((int) TIMEOUT.toMillis());
        socket.startHandshake();
        OutputStream out = socket.getOutputStream();
        out.write(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();

        assertThat(endsOrFails(socket.getInputStream())).isTrue();
      }
      Poll.until(TIMEOUT, () -> server.requestCount() == 1, () -> "the server got the request");
    }
  }

  /**
   * The first request opens the connection the client keeps alive; the drop is armed only then,
   * so the request that loses its answer is one on that open connection. POST, so the JDK client
   * does not retry it on a new connection.
   */
  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void droppedNextAnswerOnAnOpenKeepAliveConnectionIsLostAndTheFollowingRequestGetsThrough(
      String protocol) throws Exception {
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      HttpClient client = HttpClient.newBuilder()
          .sslContext(ca.sslContext(clientCertificate))
          .sslParameters(new SSLParameters(null, new String[] {protocol}))
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(TIMEOUT)
          .build();
      assertThat(client
              .send(post(proxy, "first"), HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(200);
      assertThat(proxy.connectionCount()).isEqualTo(1);

      proxy.dropNextAnswer();

      assertThatThrownBy(
              () -> client.send(post(proxy, "lost"), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      // the request went out on the open connection, and reached the server
      assertThat(proxy.connectionCount()).isEqualTo(1);
      assertThat(proxy.droppedAnswerCount()).isEqualTo(1);
      Poll.until(TIMEOUT, () -> server.requestCount() == 2, () -> "the server got the request");

      HttpResponse<String> after =
          client.send(post(proxy, "kept"), HttpResponse.BodyHandlers.ofString());
      assertThat(after.statusCode()).isEqualTo(200);
      assertThat(server.requestCount()).isEqualTo(3);
      assertThat(proxy.droppedAnswerCount()).isEqualTo(1);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"TLSv1.3", "TLSv1.2"})
  void droppedNextAnswerOnANewConnectionIsLostAfterTheHandshakeAndTheFollowingRequestGetsThrough(
      String protocol) throws Exception {
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      HttpClient client = HttpClient.newBuilder()
          .sslContext(ca.sslContext(clientCertificate))
          .sslParameters(new SSLParameters(null, new String[] {protocol}))
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(TIMEOUT)
          .build();
      proxy.dropNextAnswer();

      assertThatThrownBy(
              () -> client.send(post(proxy, "lost"), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      Poll.until(TIMEOUT, () -> server.requestCount() == 1, () -> "the server got the request");
      assertThat(proxy.droppedAnswerCount()).isEqualTo(1);

      HttpResponse<String> after =
          client.send(post(proxy, "kept"), HttpResponse.BodyHandlers.ofString());
      assertThat(after.statusCode()).isEqualTo(200);
      assertThat(server.requestCount()).isEqualTo(2);
      assertThat(proxy.connectionCount()).isEqualTo(2);
    }
  }

  @Test
  void passThroughCancelsAnUnclaimedDropOfTheNextAnswer() throws Exception {
    try (EchoServer echo = new EchoServer();
        FaultyProxy proxy = FaultyProxy.start("127.0.0.1", echo.port());
        Socket socket = connect(proxy)) {
      socket.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
      assertThat(socket.getInputStream().readNBytes(4))
          .isEqualTo("ping".getBytes(StandardCharsets.UTF_8));
      proxy.dropNextAnswer();
      proxy.passThrough();

      socket.getOutputStream().write("pong".getBytes(StandardCharsets.UTF_8));
      assertThat(socket.getInputStream().readNBytes(4))
          .isEqualTo("pong".getBytes(StandardCharsets.UTF_8));
      assertThat(proxy.droppedAnswerCount()).isZero();
    }
  }

  @Test
  void dropResponsesAffectsOnlyTheNextNConnections() throws Exception {
    try (EchoServer echo = new EchoServer();
        FaultyProxy proxy = FaultyProxy.start("127.0.0.1", echo.port())) {
      proxy.dropResponses(2);

      for (int i = 0; i < 2; i++) {
        try (Socket socket = connect(proxy)) {
          socket.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
          assertThat(endsOrFails(socket.getInputStream())).isTrue();
        }
      }
      Poll.until(TIMEOUT, () -> echo.bytesReceived() == 8, () -> "the echo server got both pings");

      try (Socket socket = connect(proxy)) {
        socket.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
        assertThat(socket.getInputStream().readNBytes(4))
            .isEqualTo("ping".getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void passThroughCancelsPendingDroppedResponses() throws Exception {
    try (EchoServer echo = new EchoServer();
        FaultyProxy proxy = FaultyProxy.start("127.0.0.1", echo.port())) {
      proxy.dropResponses(5);
      proxy.passThrough();

      try (Socket socket = connect(proxy)) {
        socket.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
        assertThat(socket.getInputStream().readNBytes(4))
            .isEqualTo("ping".getBytes(StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void closeIsIdempotentStopsListeningAndRejectsModeChanges() {
    FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port());
    int port = proxy.port();
    proxy.close();
    proxy.close();

    long accepted = proxy.connectionCount();
    // the port is free again: binding it fails while any socket still listens on it
    try (java.net.ServerSocket rebound =
        new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      assertThat(rebound.getLocalPort()).isEqualTo(port);
    } catch (IOException e) {
      throw new AssertionError("port " + port + " is still bound after close()", e);
    }
    assertThat(proxy.connectionCount()).isEqualTo(accepted);
    assertThatThrownBy(proxy::passThrough).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> proxy.dropResponses(1)).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(proxy::dropNextAnswer).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void invalidArgumentsAreRejected() {
    try (FaultyProxy proxy = FaultyProxy.start("127.0.0.1", server.port())) {
      assertThatThrownBy(() -> proxy.dropResponses(0)).isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> FaultyProxy.start("127.0.0.1", 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void threadsAreNamedDaemonThreads() throws Exception {
    try (EchoServer echo = new EchoServer();
        FaultyProxy proxy = FaultyProxy.start("127.0.0.1", echo.port());
        Socket socket = connect(proxy)) {
      socket.getOutputStream().write(1);
      assertThat(socket.getInputStream().read()).isEqualTo(1);

      List<Thread> threads = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().startsWith("machineid-testkit-proxy-"))
          .toList();
      assertThat(threads).hasSizeGreaterThanOrEqualTo(3).allMatch(Thread::isDaemon);
    }
  }

  // --- helpers -------------------------------------------------------------------------------

  private static Socket connect(FaultyProxy proxy) throws IOException {
    Socket socket = new Socket("127.0.0.1", proxy.port());
    socket.setSoTimeout((int) TIMEOUT.toMillis());
    return socket;
  }

  private static HttpRequest get(FaultyProxy proxy) {
    return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/"))
        .timeout(TIMEOUT)
        .build();
  }

  private static HttpRequest post(FaultyProxy proxy, String body) {
    return HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + proxy.port() + "/"))
        .timeout(TIMEOUT)
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }

  /** True if the stream ends (EOF) or fails (reset, TLS error) before any byte arrives or the timeout passes. */
  private static boolean endsOrFails(InputStream in) {
    try {
      return in.read() < 0;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** Echoes every byte back until the client's end of stream, then closes. */
  private static final class EchoServer implements AutoCloseable {
    private final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
    private final AtomicLong received = new AtomicLong();

    EchoServer() throws IOException {
      Thread acceptor = new Thread(this::acceptLoop, "echo-accept");
      acceptor.setDaemon(true);
      acceptor.start();
    }

    int port() {
      return socket.getLocalPort();
    }

    long bytesReceived() {
      return received.get();
    }

    private void acceptLoop() {
      while (!socket.isClosed()) {
        try {
          Socket connection = socket.accept();
          Thread echo = new Thread(() -> echo(connection), "echo");
          echo.setDaemon(true);
          echo.start();
        } catch (IOException e) {
          return;
        }
      }
    }

    private void echo(Socket connection) {
      try (connection) {
        InputStream in = connection.getInputStream();
        OutputStream out = connection.getOutputStream();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = in.read(buffer)) >= 0) {
          received.addAndGet(n);
          out.write(buffer, 0, n);
          out.flush();
        }
      } catch (IOException ignored) {
        // the proxy closed the connection
      }
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }
}
