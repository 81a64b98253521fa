package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;

class HardeningTest {
  @Test
  void unauthenticatedCallsOverTheRateLimitGetRateLimitedWithRetryAfter() throws Exception {
    try (Issuer issuer = Issuer.builder().rateLimit(0.5, 2).build().start()) {
      HttpClient http = HttpClient.newBuilder().sslContext(trusting(issuer)).build();
      HttpRequest get = HttpRequest.newBuilder(issuer.url().resolve("/v1/authority")).build();
      assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      assertThat(http.send(get, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      HttpResponse<String> limited = http.send(get, HttpResponse.BodyHandlers.ofString());
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.body()).contains("\"code\":\"rate_limited\"");
      assertThat(Long.parseLong(limited.headers().firstValue("Retry-After").orElseThrow())).isBetween(1L, 2L);
      // the metrics endpoint is not limited, and counts the refusals
      HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(issuer.url().resolve("/metrics")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(metrics.body()).contains("machineid_issuer_rate_limited_total 1.0").contains("code=\"rate_limited\"");
    }
  }

  @Test
  void idleConnectionsAreClosedAfterTheIdleTimeout() throws Exception {
    try (Issuer issuer = Issuer.builder().idleTimeout(Duration.ofSeconds(1)).build().start()) {
      try (SSLSocket s = (SSLSocket) trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
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
  void shutdownGraceIsABuilderSettingWithBounds() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Issuer.builder().shutdownGrace(Duration.ofMinutes(5)))
        .isInstanceOf(IllegalArgumentException.class);
    try (Issuer issuer = Issuer.builder().shutdownGrace(Duration.ofSeconds(2)).build().start()) {
      long start = System.nanoTime();
      issuer.stop();
      // nothing in flight: stopping does not wait for the grace period
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
    }
  }

  static SSLContext trusting(Issuer issuer) throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("issuer", issuer.authorityCertificate());
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
