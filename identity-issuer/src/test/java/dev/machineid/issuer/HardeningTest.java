package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.MutableClock;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class HardeningTest {
  /** The buckets refill on the issuer's clock, which only the test moves: a slow machine refills nothing. */
  @Test
  void unauthenticatedCallsOverTheRateLimitGetRateLimitedWithRetryAfter() throws Exception {
    MutableClock clock = MutableClock.stopped();
    try (Issuer issuer = Issuer.builder().clock(clock).rateLimit(0.5, 2).build().start()) {
      HttpClient http = HttpClient.newBuilder().sslContext(trusting(issuer)).build();
      HttpRequest get =
          HttpRequest.newBuilder(issuer.url().resolve("/v1/authority")).build();
      assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(200);
      assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(200);
      HttpResponse<String> limited = http.send(get, HttpResponse.BodyHandlers.ofString());
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.body()).contains("\"code\":\"rate_limited\"");
      assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow()))
          .isBetween(1L, 2L);
      // the metrics endpoint is limited too (every endpoint is); once the bucket refills it counts
      // the refusals
      HttpRequest metrics =
          HttpRequest.newBuilder(issuer.url().resolve("/metrics")).build();
      assertThat(http.send(metrics, HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(429);
      clock.advance(Duration.ofMillis(1_900));
      assertThat(http.send(metrics, HttpResponse.BodyHandlers.ofString()).statusCode())
          .as("before one token has refilled")
          .isEqualTo(429);
      clock.advance(Duration.ofMillis(100));
      HttpResponse<String> counted = http.send(metrics, HttpResponse.BodyHandlers.ofString());
      assertThat(counted.statusCode()).as("a token refilled after 2 s at 0.5/s").isEqualTo(200);
      assertThat(counted.body())
          .contains("code=\"rate_limited\"")
          .contains("machineid_issuer_rate_limited_total 3.0");
    }
  }

  @Test
  void idleConnectionsAreClosedAfterTheIdleTimeout() throws Exception {
    try (Issuer issuer =
        Issuer.builder().idleTimeout(Duration.ofSeconds(1)).build().start()) {
      try (SSLSocket s = (SSLSocket)
          trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
        s.startHandshake();
        s.setSoTimeout(10_000);
        long start = System.nanoTime();
        InputStream in = s.getInputStream();
        int read;
        try {
          read = in.read();
        } catch (java.io.IOException e) {
          read = -1;
        }
        assertThat(read).isEqualTo(-1);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(8));
      }
    }
  }

  @Test
  void aClientTricklingItsRequestHeadIsCutOffAtTheRequestTimeLimit() throws Exception {
    // the idle timeout alone would never fire: a byte arrives every 300 ms
    try (Issuer issuer = Issuer.builder()
        .idleTimeout(Duration.ofSeconds(30))
        .requestTimeout(Duration.ofSeconds(2))
        .build()
        .start()) {
      try (SSLSocket s = (SSLSocket)
          trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
        s.startHandshake();
        long start = System.nanoTime();
        Duration cutOff = trickle(
            s,
            "GET /v1/authority HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + "a".repeat(200),
            start);
        assertThat(cutOff).isBetween(Duration.ofMillis(1500), Duration.ofSeconds(8));
      }
      assertThat(metrics(issuer)).contains("machineid_issuer_requests_timed_out_total 1.0");
    }
  }

  @Test
  void aClientTricklingItsJoinBodyIsCutOffAndTheTokenStaysUnused() throws Exception {
    try (Issuer issuer = Issuer.builder()
        .idleTimeout(Duration.ofSeconds(30))
        .requestTimeout(Duration.ofSeconds(2))
        .build()
        .start()) {
      issuer.bots().create("slow");
      String token = issuer.tokens().create("slow", Duration.ofMinutes(5));
      java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
      g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
      java.security.KeyPair key = g.generateKeyPair();
      String pem = dev.machineid.core.protocol.Pem.encode(key.getPublic()).replace("\n", "\\n");
      HttpClient http = HttpClient.newBuilder().sslContext(trusting(issuer)).build();
      String challengeBody =
          "{\"join_method\":\"token\",\"token\":\"" + token + "\",\"public_key\":\"" + pem + "\"}";
      String answer = http.send(
              post(issuer, "/v1/join/challenge", challengeBody),
              HttpResponse.BodyHandlers.ofString())
          .body();
      String challenge = answer.replaceAll(".*\"challenge\":\"([^\"]+)\".*", "$1");
      java.security.Signature sig = java.security.Signature.getInstance("SHA256withECDSA");
      sig.initSign(key.getPrivate());
      sig.update(challenge.getBytes(StandardCharsets.UTF_8));
      String join = "{\"join_method\":\"token\",\"token\":\"" + token + "\",\"challenge\":\""
          + challenge + "\",\"challenge_signature\":\""
          + java.util.Base64.getEncoder().encodeToString(sig.sign())
          + "\",\"proof\":{},\"public_key\":\"" + pem + "\"}";
      try (SSLSocket s = (SSLSocket)
          trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
        s.startHandshake();
        OutputStream out = s.getOutputStream();
        out.write(
            ("POST /v1/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + join.length() + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        long start = System.nanoTime();
        Duration cutOff = trickle(s, join, start);
        assertThat(cutOff).isBetween(Duration.ofMillis(1500), Duration.ofSeconds(8));
      }
      assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumedAt())
          .isNull());
      // nothing was lost: the same request sent at normal speed joins
      HttpResponse<String> joined =
          http.send(post(issuer, "/v1/join", join), HttpResponse.BodyHandlers.ofString());
      assertThat(joined.statusCode()).as(joined.body()).isEqualTo(200);
      assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumedAt())
          .isNotNull());
    }
  }

  private static HttpRequest post(Issuer issuer, String path, String json) {
    return HttpRequest.newBuilder(issuer.url().resolve(path))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json))
        .build();
  }

  @Test
  void aConnectionThatNeverHandshakesIsClosedAtTheRequestTimeLimit() throws Exception {
    try (Issuer issuer = Issuer.builder()
            .idleTimeout(Duration.ofSeconds(30))
            .requestTimeout(Duration.ofSeconds(1))
            .build()
            .start();
        Socket plain = new Socket("127.0.0.1", issuer.port())) {
      plain.setSoTimeout(10_000);
      long start = System.nanoTime();
      // a TLS record header promising more than is ever sent
      plain.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00});
      plain.getOutputStream().flush();
      int read;
      try {
        read = plain.getInputStream().read();
        while (read != -1) {
          read = plain.getInputStream().read();
        }
      } catch (java.io.IOException e) {
        read = -1;
      }
      assertThat(read).isEqualTo(-1);
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isBetween(Duration.ofMillis(800), Duration.ofSeconds(8));
    }
  }

  @Test
  void aKeptAliveConnectionMayIdleBetweenRequestsLongerThanTheRequestTimeLimit() throws Exception {
    try (Issuer issuer = Issuer.builder()
        .idleTimeout(Duration.ofSeconds(30))
        .requestTimeout(Duration.ofSeconds(1))
        .build()
        .start()) {
      try (SSLSocket s = (SSLSocket)
          trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
        s.setSoTimeout(10_000);
        String get = "GET /v1/authority HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        s.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        readResponse(s.getInputStream());
        Thread.sleep(2_500);
        s.getOutputStream().write(get.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        assertThat(readResponse(s.getInputStream())).startsWith("HTTP/1.1 200");
      }
    }
  }

  @Test
  void requestTimeoutIsABuilderSettingWithBounds() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Issuer.builder().requestTimeout(Duration.ofMillis(500)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("requestTimeout");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Issuer.builder().requestTimeout(Duration.ofMinutes(6)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  /** Writes {@code text} a byte every 300 ms until the server closes; returns when that happened since {@code start}. */
  private static Duration trickle(SSLSocket s, String text, long start) throws Exception {
    s.setSoTimeout(50);
    OutputStream out = s.getOutputStream();
    InputStream in = s.getInputStream();
    for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
      try {
        out.write(b);
        out.flush();
      } catch (java.io.IOException closed) {
        return Duration.ofNanos(System.nanoTime() - start);
      }
      try {
        if (in.read() == -1) {
          return Duration.ofNanos(System.nanoTime() - start);
        }
      } catch (java.net.SocketTimeoutException stillOpen) {
        // nothing from the server yet
      } catch (java.io.IOException closed) {
        return Duration.ofNanos(System.nanoTime() - start);
      }
      Thread.sleep(300);
      if (Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(20)) > 0) {
        break;
      }
    }
    throw new AssertionError(
        "the server kept the connection open for " + Duration.ofNanos(System.nanoTime() - start));
  }

  private static String readResponse(InputStream in) throws java.io.IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c == -1) {
        throw new java.io.EOFException("connection closed after " + head);
      }
      head.append((char) c);
    }
    int length = 0;
    for (String line : head.toString().split("\r\n")) {
      if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    in.readNBytes(length);
    return head.toString();
  }

  private static String metrics(Issuer issuer) throws Exception {
    HttpClient http = HttpClient.newBuilder().sslContext(trusting(issuer)).build();
    return http.send(
            HttpRequest.newBuilder(issuer.url().resolve("/metrics")).build(),
            HttpResponse.BodyHandlers.ofString())
        .body();
  }

  @Test
  void behindAProxyProtocolBalancerTheClientAddressComesFromTheHeader() throws Exception {
    try (Issuer issuer = Issuer.builder()
        .proxyProtocol(java.util.List.of("127.0.0.1"))
        .rateLimit(0.2, 1)
        .build()
        .start()) {
      String join =
          "{\"join_method\":\"token\",\"token\":\"no-such-token\",\"challenge\":\"x\",\"challenge_signature\":\"eA==\",\"proof\":{},\"public_key\":\"x\"}";
      try (SSLSocket s = proxied(issuer, "203.0.113.7", 51234)) {
        assertThat(exchange(
                s,
                "POST /v1/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                    + join.length() + "\r\n\r\n" + join))
            .startsWith("HTTP/1.1 4");
      }
      // the audit event names the address from the PROXY header, not the balancer's
      assertThat(issuer.audit().events()).last().satisfies(e -> assertThat(
              e.detail().get("remote_address"))
          .isEqualTo("203.0.113.7:51234"));
      // rate limiting is per client address behind the balancer: 203.0.113.7 has used its burst
      try (SSLSocket s = proxied(issuer, "203.0.113.7", 51235)) {
        assertThat(exchange(s, "GET /v1/authority HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
            .startsWith("HTTP/1.1 429");
      }
      try (SSLSocket s = proxied(issuer, "198.51.100.20", 40000)) {
        assertThat(exchange(s, "GET /v1/authority HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
            .startsWith("HTTP/1.1 200");
      }
      // a client that skips the balancer (no PROXY header) does not get a TLS connection
      try (SSLSocket direct = (SSLSocket)
          trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
        direct.setSoTimeout(10_000);
        org.assertj.core.api.Assertions.assertThatThrownBy(direct::startHandshake)
            .isInstanceOf(java.io.IOException.class);
      }
    }
  }

  @Test
  void withoutProxyProtocolAProxyHeaderIsNotTrusted() throws Exception {
    try (Issuer issuer = Issuer.builder().build().start()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
            try (SSLSocket s = proxied(issuer, "203.0.113.7", 51234)) {
              exchange(s, "GET /v1/authority HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            }
          })
          .isInstanceOf(java.io.IOException.class);
    }
  }

  /** A TLS connection that starts with a PROXY protocol v1 header claiming {@code ip:port} as the client. */
  private static SSLSocket proxied(Issuer issuer, String ip, int port) throws Exception {
    Socket raw = new Socket("127.0.0.1", issuer.port());
    raw.setSoTimeout(10_000);
    raw.getOutputStream()
        .write(("PROXY TCP4 " + ip + " 127.0.0.1 " + port + " " + issuer.port() + "\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    raw.getOutputStream().flush();
    SSLSocket s = (SSLSocket)
        trusting(issuer).getSocketFactory().createSocket(raw, "127.0.0.1", issuer.port(), true);
    s.startHandshake();
    return s;
  }

  private static String exchange(SSLSocket s, String request) throws java.io.IOException {
    s.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    s.getOutputStream().flush();
    return readResponse(s.getInputStream());
  }

  @Test
  void shutdownGraceIsABuilderSettingWithBounds() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> Issuer.builder().shutdownGrace(Duration.ofMinutes(5)))
        .isInstanceOf(IllegalArgumentException.class);
    // the longest grace there is, so that only waiting for it (not a slow machine) can reach it
    Duration grace = Duration.ofMinutes(1);
    try (Issuer issuer = Issuer.builder().shutdownGrace(grace).build().start()) {
      long start = System.nanoTime();
      issuer.stop();
      // nothing in flight: stopping does not wait for the grace period
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(grace);
    }
  }

  static SSLContext trusting(Issuer issuer) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("issuer", issuer.authorityCertificate());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
