package dev.machineid.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MtlsServerTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private TestCertificateAuthority ca;
  private MtlsServer server;

  @BeforeEach
  void startServer() {
    ca = TestCertificateAuthority.create("test root");
    server = MtlsServer.builder()
        .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
        .trustedClientCAs(() -> List.of(ca.certificate()))
        .start();
  }

  @AfterEach
  void stopServer() {
    server.close();
    ca.close();
  }

  @Test
  void answersEachRequestWith200NamingTheClientCertificatesSubjectAndSerial() throws Exception {
    TestCertificateAuthority.Issued client =
        ca.issueClientCertificate("bot-1", Duration.ofHours(1));

    HttpResponse<String> response = get(httpClient(ca.sslContext(client)), "hello");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
    assertThat(response.body())
        .isEqualTo("{\"subject\":\"CN=bot-1\",\"serial\":\""
            + client.certificate().getSerialNumber().toString(16) + "\"}\n");
    assertThat(server.url().toString()).isEqualTo("https://127.0.0.1:" + server.port() + "/");
  }

  @Test
  void recordsEachDistinctClientSerialOnceInTheOrderFirstSeenWithTheTimeFirstSeen()
      throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    try (MtlsServer timed = MtlsServer.builder()
        .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
        .trustedClientCAs(() -> List.of(ca.certificate()))
        .clock(clock)
        .start()) {
      TestCertificateAuthority.Issued first =
          ca.issueClientCertificate("first", Duration.ofHours(1));
      TestCertificateAuthority.Issued second =
          ca.issueClientCertificate("second", Duration.ofHours(1));

      send(httpClient(ca.sslContext(first)), timed, "a");
      clock.set(Instant.parse("2030-01-01T00:05:00Z"));
      send(httpClient(ca.sslContext(second)), timed, "b");
      clock.set(Instant.parse("2030-01-01T00:10:00Z"));
      send(httpClient(ca.sslContext(first)), timed, "c");

      assertThat(timed.seenSerials())
          .containsExactly(
              entry(first, Instant.parse("2030-01-01T00:00:00Z")),
              entry(second, Instant.parse("2030-01-01T00:05:00Z")));
      assertThat(timed.requestCount()).isEqualTo(3);
    }
  }

  @Test
  void keptAliveConnectionServesManyRequestsAfterOneHandshake() throws Exception {
    HttpClient client =
        httpClient(ca.sslContext(ca.issueClientCertificate("bot", Duration.ofHours(1))));

    for (int i = 0; i < 5; i++) {
      assertThat(get(client, "r" + i).statusCode()).isEqualTo(200);
    }

    assertThat(server.requestCount()).isEqualTo(5);
    assertThat(server.handshakeCount()).isEqualTo(1);
    assertThat(server.connectionCount()).isEqualTo(1);
  }

  @Test
  void servesManyConcurrentRequests() throws Exception {
    HttpClient client =
        httpClient(ca.sslContext(ca.issueClientCertificate("bot", Duration.ofHours(1))));
    List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();

    for (int i = 0; i < 40; i++) {
      responses.add(
          client.sendAsync(request(server, "c" + i), HttpResponse.BodyHandlers.ofString()));
    }

    for (CompletableFuture<HttpResponse<String>> response : responses) {
      assertThat(response.get().statusCode()).isEqualTo(200);
    }
    assertThat(server.requestCount()).isEqualTo(40);
    assertThat(server.handshakeCount()).isBetween(1L, 40L);
  }

  @Test
  void clientWithoutACertificateIsRejected() throws Exception {
    SSLContext noCertificate = SSLContext.getInstance("TLS");
    noCertificate.init(null, new TrustManager[] {ca.trustManager()}, null);

    assertThatThrownBy(() -> get(httpClient(noCertificate), "x")).isInstanceOf(IOException.class);

    Poll.until(TIMEOUT, () -> server.failedHandshakeCount() > 0, () -> "a failed handshake");
    assertThat(server.requestCount()).isZero();
    assertThat(server.seenSerials()).isEmpty();
  }

  @Test
  void clientCertificateFromAnUntrustedCaIsRejected() throws Exception {
    try (TestCertificateAuthority other = TestCertificateAuthority.create("other root")) {
      TestCertificateAuthority.Issued stranger =
          other.issueClientCertificate("intruder", Duration.ofHours(1));

      assertThatThrownBy(() -> get(httpClient(clientContext(stranger)), "x"))
          .isInstanceOf(IOException.class);

      Poll.until(TIMEOUT, () -> server.failedHandshakeCount() > 0, () -> "a failed handshake");
      assertThat(server.requestCount()).isZero();
    }
  }

  @Test
  void expiredClientCertificateIsRejected() throws Exception {
    try (TestCertificateAuthority past = TestCertificateAuthority.create(
            "root", Clock.offset(Clock.systemUTC(), Duration.ofDays(-2)));
        MtlsServer trustsPast = MtlsServer.builder()
            .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
            .trustedClientCAs(() -> List.of(past.certificate()))
            .start()) {
      TestCertificateAuthority.Issued expired =
          past.issueClientCertificate("late", Duration.ofHours(1));

      assertThatThrownBy(() -> send(httpClient(clientContext(expired)), trustsPast, "x"))
          .isInstanceOf(IOException.class);
      Poll.until(TIMEOUT, () -> trustsPast.failedHandshakeCount() > 0, () -> "a failed handshake");
    }
  }

  @Test
  void trustedClientCasAreReadAtEachHandshake() throws Exception {
    try (TestCertificateAuthority next = TestCertificateAuthority.create("next root")) {
      AtomicReference<List<X509Certificate>> trusted =
          new AtomicReference<>(List.of(ca.certificate()));
      try (MtlsServer rotating = MtlsServer.builder()
          .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
          .trustedClientCAs(trusted::get)
          .start()) {
        TestCertificateAuthority.Issued fromNext =
            next.issueClientCertificate("rotated", Duration.ofHours(1));

        assertThatThrownBy(() -> send(httpClient(clientContext(fromNext)), rotating, "before"))
            .isInstanceOf(IOException.class);

        trusted.set(List.of(ca.certificate(), next.certificate()));
        assertThat(send(httpClient(clientContext(fromNext)), rotating, "after").statusCode())
            .isEqualTo(200);
        assertThat(rotating.seenSerials()).containsOnlyKeys(serial(fromNext));
      }
    }
  }

  /** Documents the JDK behaviour the class Javadoc warns about: resumption skips client validation. */
  @Test
  void resumedSessionIsAcceptedWithoutConsultingTrustedClientCasAgain() throws Exception {
    AtomicReference<List<X509Certificate>> trusted =
        new AtomicReference<>(List.of(ca.certificate()));
    try (MtlsServer revoking = MtlsServer.builder()
        .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
        .trustedClientCAs(trusted::get)
        .start()) {
      SSLContext context = ca.sslContext(ca.issueClientCertificate("resumer", Duration.ofHours(1)));
      assertThat(rawGet(context, revoking)).startsWith("HTTP/1.1 200 OK");

      trusted.set(List.of());

      assertThat(rawGet(context, revoking)).startsWith("HTTP/1.1 200 OK");
      // a context without a cached session makes a full handshake, which now fails
      SSLContext fresh = ca.sslContext(ca.issueClientCertificate("newcomer", Duration.ofHours(1)));
      assertThatThrownBy(() -> rawGet(fresh, revoking)).isInstanceOf(IOException.class);
      assertThat(revoking.handshakeCount()).isEqualTo(2);
    }
  }

  private static String rawGet(SSLContext context, MtlsServer target) throws IOException {
    try (SSLSocket socket =
        (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", target.port())) {
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      socket
          .getOutputStream()
          .write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
              .getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    }
  }

  @Test
  void sizedAndChunkedRequestBodiesAreConsumedSoTheConnectionStaysUsable() throws Exception {
    TestCertificateAuthority.Issued client = ca.issueClientCertificate("raw", Duration.ofHours(1));
    try (SSLSocket socket = (SSLSocket)
        ca.sslContext(client).getSocketFactory().createSocket("127.0.0.1", server.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
              + "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              + "3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
              + "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.ISO_8859_1));
      out.flush();

      String responses =
          new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

      assertThat(responses.split("HTTP/1.1 200 OK", -1)).hasSize(4);
      assertThat(responses).containsOnlyOnce("Connection: close");
    }
    assertThat(server.requestCount()).isEqualTo(3);
    assertThat(server.handshakeCount()).isEqualTo(1);
  }

  @Test
  void closeIsIdempotentAndStopsAcceptingConnections() {
    int port = server.port();
    server.close();
    server.close();
    long accepted = server.connectionCount();

    // the port is free again: binding it fails while any socket still listens on it
    try (java.net.ServerSocket rebound =
        new java.net.ServerSocket(port, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      assertThat(rebound.getLocalPort()).isEqualTo(port);
    } catch (java.io.IOException e) {
      throw new AssertionError("port " + port + " is still bound after close()", e);
    }
    assertThat(server.connectionCount()).isEqualTo(accepted);
  }

  @Test
  void closeEndsConnectionsThatAreKeptAlive() throws Exception {
    TestCertificateAuthority.Issued client = ca.issueClientCertificate("idle", Duration.ofHours(1));
    try (SSLSocket socket = (SSLSocket)
        ca.sslContext(client).getSocketFactory().createSocket("127.0.0.1", server.port())) {
      socket
          .getOutputStream()
          .write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = socket.getInputStream();
      assertThat(in.read()).isEqualTo('H');
      Poll.until(TIMEOUT, () -> server.requestCount() == 1, () -> "one request");

      server.close();

      socket.setSoTimeout((int) TIMEOUT.toMillis());
      assertThat(drainToEnd(in)).isTrue();
    }
  }

  @Test
  void threadsAreNamedDaemonThreads() throws Exception {
    get(httpClient(ca.sslContext(ca.issueClientCertificate("bot", Duration.ofHours(1)))), "x");

    List<Thread> threads = Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.getName().startsWith("machineid-testkit-mtls-"))
        .toList();
    assertThat(threads).isNotEmpty().allMatch(Thread::isDaemon);
  }

  @Test
  void builderRejectsMissingAndRepeatedSettings() {
    TestCertificateAuthority.Issued issued = ca.issueServerCertificate(List.of("127.0.0.1"));

    assertThatThrownBy(() -> MtlsServer.builder().trustedClientCAs(List::of).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("serverCertificate");
    assertThatThrownBy(() -> MtlsServer.builder().serverCertificate(issued).start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("trustedClientCAs");
    assertThatThrownBy(
            () -> MtlsServer.builder().serverCertificate(issued).serverCertificate(issued))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> MtlsServer.builder().serverCertificate(issued.privateKey()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // --- helpers -------------------------------------------------------------------------------

  /** A client context presenting {@code identity} and trusting the server's CA (not the identity's). */
  private SSLContext clientContext(TestCertificateAuthority.Issued identity) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(
        new javax.net.ssl.KeyManager[] {identity.keyManager()},
        new TrustManager[] {ca.trustManager()},
        null);
    return context;
  }

  static HttpClient httpClient(SSLContext context) {
    return HttpClient.newBuilder()
        .sslContext(context)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(TIMEOUT)
        .build();
  }

  private HttpResponse<String> get(HttpClient client, String path)
      throws IOException, InterruptedException {
    return send(client, server, path);
  }

  static HttpResponse<String> send(HttpClient client, MtlsServer target, String path)
      throws IOException, InterruptedException {
    return client.send(request(target, path), HttpResponse.BodyHandlers.ofString());
  }

  static HttpRequest request(MtlsServer target, String path) {
    return HttpRequest.newBuilder(target.url().resolve(path)).timeout(TIMEOUT).build();
  }

  private static java.util.Map.Entry<String, Instant> entry(
      TestCertificateAuthority.Issued issued, Instant at) {
    return java.util.Map.entry(serial(issued), at);
  }

  static String serial(TestCertificateAuthority.Issued issued) {
    return issued.certificate().getSerialNumber().toString(16);
  }

  /** Reads until the server ends the connection; true if it did (EOF or reset) before the timeout. */
  private static boolean drainToEnd(InputStream in) {
    try {
      while (in.read() >= 0) {
        // the rest of the response
      }
      return true;
    } catch (java.net.SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  static final class MutableClock extends Clock {
    private volatile Instant now;

    MutableClock(Instant now) {
      this.now = now;
    }

    void set(Instant instant) {
      now = instant;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }
}
