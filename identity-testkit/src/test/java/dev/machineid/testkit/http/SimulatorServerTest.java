package dev.machineid.testkit.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.http.SimulatorServer.ClientAuth;
import dev.machineid.testkit.http.SimulatorServer.Response;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SimulatorServerTest {
  private final TestCertificateAuthority ca = TestCertificateAuthority.create("simulator test CA");

  @AfterEach
  void closeCa() {
    ca.close();
  }

  @Test
  void routesByPathAndMethodAnswersOtherMethods405AndUnknownPaths404() throws Exception {
    try (SimulatorServer server = SimulatorServer.builder("test")
        .route(
            Set.of("GET"),
            "/things",
            r -> Response.json(200, "{\"query\":\"" + r.rawQuery() + "\"}"))
        .route(Set.of("POST", "PUT"), "/echo", r -> Response.text(201, "text/plain", r.bodyText())
            .withHeader("X-Echo", "yes"))
        .start()) {
      HttpClient client = HttpClient.newHttpClient();

      HttpResponse<String> things = client.send(
          get(server.uri().resolve("/things?a=1")), HttpResponse.BodyHandlers.ofString());
      assertThat(things.statusCode()).isEqualTo(200);
      assertThat(things.headers().firstValue("content-type")).hasValue("application/json");
      assertThat(things.body()).isEqualTo("{\"query\":\"a=1\"}");

      HttpResponse<String> echo = client.send(
          HttpRequest.newBuilder(server.uri().resolve("/echo"))
              .PUT(HttpRequest.BodyPublishers.ofString("hello"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(echo.statusCode()).isEqualTo(201);
      assertThat(echo.body()).isEqualTo("hello");
      assertThat(echo.headers().firstValue("x-echo")).hasValue("yes");

      assertThat(client
              .send(
                  HttpRequest.newBuilder(server.uri().resolve("/things"))
                      .DELETE()
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(405);
      assertThat(client
              .send(get(server.uri().resolve("/nothing")), HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(404);

      assertThat(server.exchanges())
          .extracting(e -> e.request().method() + " " + e.request().path() + " " + e.status())
          .containsExactly(
              "GET /things 200", "PUT /echo 201", "DELETE /things 405", "GET /nothing 404");
      assertThat(server.exchanges().get(1).request().bodyText()).isEqualTo("hello");
    }
  }

  @Test
  void aBodyOverTheLimitGets413AndReachesNoHandler() throws Exception {
    AtomicReference<String> seen = new AtomicReference<>();
    try (SimulatorServer server = SimulatorServer.builder("test")
        .maxRequestBody(16)
        .fallback(r -> {
          seen.set(r.bodyText());
          return Response.empty(204);
        })
        .start()) {
      HttpClient client = HttpClient.newHttpClient();
      assertThat(client
              .send(
                  post(server.uri().resolve("/"), "x".repeat(16)),
                  HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(204);
      assertThat(seen.get()).isEqualTo("x".repeat(16));
      seen.set(null);

      assertThat(client
              .send(
                  post(server.uri().resolve("/"), "x".repeat(17)),
                  HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(413);
      assertThat(seen.get()).isNull();
    }
  }

  @Test
  void aThrowingHandlerGetsTheErrorAnswerAndTheOverrideAnswersEverythingUntilCleared()
      throws Exception {
    try (SimulatorServer server = SimulatorServer.builder("test")
        .route(Set.of("GET"), "/boom", r -> {
          throw new IllegalStateException("boom");
        })
        .onError(e -> Response.text(503, "text/plain", e.getMessage()))
        .start()) {
      HttpClient client = HttpClient.newHttpClient();
      HttpResponse<String> boom =
          client.send(get(server.uri().resolve("/boom")), HttpResponse.BodyHandlers.ofString());
      assertThat(boom.statusCode()).isEqualTo(503);
      assertThat(boom.body()).isEqualTo("boom");

      server.override(
          r -> Response.empty(307).withHeader("Location", "https://elsewhere.example/"));
      assertThat(client
              .send(get(server.uri().resolve("/boom")), HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(307);
      assertThat(client
              .send(get(server.uri().resolve("/any")), HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(307);
      server.override(null);
      assertThat(client
              .send(get(server.uri().resolve("/any")), HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(404);
    }
  }

  @Test
  void overHttpsTheHandlerSeesTheClientCertificateOrNoneWhenItIsOnlyWanted() throws Exception {
    TestCertificateAuthority clients = TestCertificateAuthority.create("client CA");
    TestCertificateAuthority.Issued bot =
        clients.issueClientCertificate("bot-1", Duration.ofHours(1));
    try (SimulatorServer server = SimulatorServer.builder("test")
        .https(ca.issueServerCertificate(List.of("127.0.0.1")))
        .clientCertificates(ClientAuth.WANT, clients.trustManager())
        .fallback(r -> Response.text(
            200,
            "text/plain",
            r.peerCertificates().stream()
                .map(X509Certificate::getSubjectX500Principal)
                .toList()
                .toString()))
        .start()) {
      assertThat(server.uri().toString()).startsWith("https://127.0.0.1:");
      HttpClient withCertificate = https(bot);
      assertThat(withCertificate
              .send(get(server.uri().resolve("/")), HttpResponse.BodyHandlers.ofString())
              .body())
          .isEqualTo("[CN=bot-1, CN=client CA]");
      assertThat(server.exchanges().get(0).request().peerCertificates())
          .containsExactlyElementsOf(bot.chain());

      HttpClient without = https(null);
      assertThat(without
              .send(get(server.uri().resolve("/")), HttpResponse.BodyHandlers.ofString())
              .body())
          .isEqualTo("[]");
    } finally {
      clients.close();
    }
  }

  @Test
  void whenAClientCertificateIsNeededAHandshakeWithoutOneOrWithAnUntrustedOneFails()
      throws Exception {
    TestCertificateAuthority clients = TestCertificateAuthority.create("client CA");
    TestCertificateAuthority strangers = TestCertificateAuthority.create("other CA");
    try (SimulatorServer server = SimulatorServer.builder("test")
        .https(ca.issueServerCertificate(List.of("127.0.0.1")))
        .clientCertificates(ClientAuth.NEED, clients.trustManager())
        .fallback(r -> Response.empty(204))
        .start()) {
      assertThat(https(clients.issueClientCertificate("bot-1", Duration.ofHours(1)))
              .send(get(server.uri().resolve("/")), HttpResponse.BodyHandlers.ofString())
              .statusCode())
          .isEqualTo(204);
      assertThatThrownBy(() -> https(null)
              .send(get(server.uri().resolve("/")), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      assertThatThrownBy(
              () -> https(strangers.issueClientCertificate("intruder", Duration.ofHours(1)))
                  .send(get(server.uri().resolve("/")), HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
      assertThat(server.exchanges()).hasSize(1);
    } finally {
      clients.close();
      strangers.close();
    }
  }

  @Test
  void clientCertificatesWithoutHttpsAndBadSettingsAreRefusedAtBuildTime() {
    assertThatThrownBy(() -> SimulatorServer.builder("test")
            .clientCertificates(ClientAuth.WANT, ca.trustManager())
            .start())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("https");
    assertThatThrownBy(() -> SimulatorServer.builder("Not A Name"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SimulatorServer.builder("test")
            .route(Set.of("GET"), "relative", r -> Response.empty(200)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> SimulatorServer.builder("test").maxRequestBody(-1))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void closeIsIdempotentAndStopsListening() throws Exception {
    SimulatorServer server = SimulatorServer.builder("test").start();
    URI uri = server.uri();
    server.close();
    server.close();
    assertThatThrownBy(() -> HttpClient.newHttpClient()
            .send(get(uri.resolve("/")), HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(IOException.class);
  }

  private HttpClient https(TestCertificateAuthority.Issued clientCertificate) throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(
        clientCertificate == null
            ? null
            : new javax.net.ssl.KeyManager[] {clientCertificate.keyManager()},
        new TrustManager[] {ca.trustManager()},
        null);
    return HttpClient.newBuilder().sslContext(tls).build();
  }

  private static HttpRequest get(URI uri) {
    return HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build();
  }

  private static HttpRequest post(URI uri, String body) {
    return HttpRequest.newBuilder(uri)
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body))
        .build();
  }
}
