package dev.machineid.it.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.store.JdbcStore;
import dev.machineid.testkit.PostgresServer;
import dev.machineid.testkit.ProtocolClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyPair;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * With its PostgreSQL store down the issuer answers at once with {@code 503 unavailable} and
 * {@code Retry-After} (the pool wait, not a client's timeout), {@code /readyz} says unready, and
 * both recover when the database is back.
 */
class StoreOutageTest {
  private static final Duration POOL_WAIT = Duration.ofMillis(500);
  private static PostgresServer pg;
  private static JdbcStore store;
  private static Issuer issuer;
  private static HttpClient http;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresServer.builder().start();
    String url = pg.createDatabase("outage");
    store =
        JdbcStore.builder(url).credentials(pg.user(), null).poolWait(POOL_WAIT).build();
    issuer = Issuer.builder().trustDomain("outage.test").store(store).build().start();
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", issuer.authorityCertificate());
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    http = HttpClient.newBuilder()
        .sslContext(ctx)
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {issuer, store, pg}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // keep closing the rest
      }
    }
  }

  private static HttpResponse<String> send(String method, String path, String json)
      throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(issuer.url() + path)).timeout(Duration.ofSeconds(20));
    b = json == null
        ? b.method(method, HttpRequest.BodyPublishers.noBody())
        : b.header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(json));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String joinBody(String token) {
    KeyPair k = ProtocolClient.ec();
    String challenge = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .challenge("token", token, k);
    return ProtocolClient.joinRequest(token, challenge, k, null).toString();
  }

  @Test
  void aStoreOutageGets503WithinASecond() throws Exception {
    issuer.bots().create("outage-bot");
    String token = issuer.tokens().create("outage-bot", Duration.ofMinutes(10));
    String body = joinBody(token); // the challenge needs no store
    send("GET", "/v1/authority", null); // a warm connection, so the timing below is the issuer's
    pg.stop();
    try {
      long start = System.nanoTime();
      HttpResponse<String> r = send("POST", "/v1/join", body);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
      assertThat(r.headers().firstValue("Retry-After"))
          .hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
      assertThat(r.body()).contains("\"code\":\"unavailable\"");
      assertThat(took)
          .as("answered within a second, not after a client timeout")
          .isLessThan(Duration.ofSeconds(1));
    } finally {
      pg.start();
    }
    // the database is back: the same token joins (the refused attempt consumed nothing)
    Instant deadline = Instant.now().plusSeconds(60);
    HttpResponse<String> joined;
    do {
      joined = send("POST", "/v1/join", joinBody(token));
      assertThat(Instant.now()).as(joined.body()).isBefore(deadline);
    } while (joined.statusCode() == 503);
    assertThat(joined.statusCode()).as(joined.body()).isEqualTo(200);
  }

  @Test
  void theReadinessEndpointGoesUnreadyWhenTheStoreIsDown() throws Exception {
    HttpResponse<String> ready = send("GET", "/readyz", null);
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(ready.body()).isEqualTo("ready\n");
    pg.stop();
    try {
      long start = System.nanoTime();
      HttpResponse<String> down = send("GET", "/readyz", null);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(down.statusCode()).isEqualTo(503);
      assertThat(down.body()).isEqualTo("unready\n");
      assertThat(down.headers().firstValue("Retry-After")).isPresent();
      assertThat(took).isLessThan(Duration.ofSeconds(1));
      // the authority document needs no store and still serves
      assertThat(send("GET", "/v1/authority", null).statusCode()).isEqualTo(200);
    } finally {
      pg.start();
    }
    Instant deadline = Instant.now().plusSeconds(60);
    HttpResponse<String> back;
    do {
      back = send("GET", "/readyz", null);
      assertThat(Instant.now()).isBefore(deadline);
    } while (back.statusCode() == 503);
    assertThat(back.statusCode()).isEqualTo(200);
    assertThat(back.body()).isEqualTo("ready\n");
  }
}
