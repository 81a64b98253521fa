package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.internal.admin.AdminApi;
import dev.machineid.issuer.internal.http.ApiHandler;
import dev.machineid.testkit.ProtocolClient;
import java.net.http.HttpRequest;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The route tables ({@link ApiHandler#ROUTES}, {@link AdminApi#ROUTES}) are the one place
 * endpoints are declared: every declared route is served (its answer is never the router's
 * {@code 404}), every other method on a declared path is {@code 405 method_not_allowed}, and a path
 * no table declares is {@code 404 not_found} as a problem document.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RouteTableTest {
  private static final List<String> METHODS = List.of("GET", "POST", "PUT", "PATCH", "DELETE");

  private Issuer issuer;
  private ProtocolClient bot;
  private ProtocolClient admin;

  @BeforeAll
  void start() {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("web");
    KeyPair botKeys = ProtocolClient.ec();
    IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create("web", Duration.ofMinutes(10)), botKeys, null)
        .as(IdentityResponse.class);
    bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), botKeys, c);
    KeyPair adminKeys = ProtocolClient.ec();
    X509Certificate cert =
        issuer.admins().issueCertificate("ops", adminKeys.getPublic(), Duration.ofHours(1));
    admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), adminKeys.getPrivate(), new X509Certificate[] {
          cert
        });
  }

  @AfterAll
  void stop() {
    issuer.close();
  }

  private static ProtocolClient.Reply send(ProtocolClient client, String method, String path) {
    boolean body = !method.equals("GET") && !method.equals("DELETE");
    return client.send(
        method,
        path,
        body ? "application/json" : null,
        body ? HttpRequest.BodyPublishers.ofString("{}") : HttpRequest.BodyPublishers.noBody());
  }

  /** The router's own refusal of a path: a 404 problem that names no resource. */
  private static boolean routerNotFound(ProtocolClient.Reply r) {
    return r.status() == 404
        && r.contentType() != null
        && r.contentType().startsWith(Protocol.PROBLEM_JSON)
        && r.json().path("detail").asText().startsWith("no such");
  }

  @Test
  void everyDeclaredProtocolRouteIsServedAndOtherMethodsAreNotAllowed() {
    assertThat(ApiHandler.ROUTES)
        .extracting(ApiHandler.Route::path)
        .contains(
            Protocol.AUTHORITY_PATH,
            Protocol.CHALLENGE_PATH,
            Protocol.JOIN_PATH,
            Protocol.RENEW_PATH,
            Protocol.HEARTBEAT_PATH,
            Protocol.CERTIFICATES_PATH)
        .doesNotHaveDuplicates();
    for (ApiHandler.Route route : ApiHandler.ROUTES) {
      ProtocolClient.Reply served = send(bot, route.method(), route.path());
      assertThat(served.status()).as(route + " -> " + served).isNotEqualTo(404).isLessThan(500);
      for (String other : METHODS) {
        if (!other.equals(route.method())) {
          ProtocolClient.Reply refused = send(bot, other, route.path());
          assertThat(refused.status())
              .as(other + " " + route.path() + " -> " + refused)
              .isEqualTo(405);
          assertThat(refused.code()).isEqualTo("method_not_allowed");
        }
      }
    }
  }

  @Test
  void everyDeclaredAdminRouteIsServedAndOtherMethodsAreNotAllowed() {
    assertThat(AdminApi.ROUTES)
        .extracting(r -> r.method() + " " + r.template())
        .doesNotHaveDuplicates();
    for (AdminApi.Route route : AdminApi.ROUTES) {
      String path = route.template().replaceAll("\\{[a-z]+}", "web");
      ProtocolClient.Reply served = send(admin, route.method(), path);
      assertThat(routerNotFound(served))
          .as(route.method() + " " + path + " -> " + served)
          .isFalse();
      assertThat(served.status())
          .as(route.method() + " " + path + " -> " + served)
          .isLessThan(500)
          .isNotEqualTo(405);
      Set<String> declared = AdminApi.ROUTES.stream()
          .filter(r -> r.template().equals(route.template()))
          .map(AdminApi.Route::method)
          .collect(Collectors.toSet());
      for (String other : METHODS) {
        if (!declared.contains(other)) {
          ProtocolClient.Reply refused = send(admin, other, path);
          assertThat(refused.status()).as(other + " " + path + " -> " + refused).isEqualTo(405);
          assertThat(refused.code()).isEqualTo("method_not_allowed");
        }
      }
    }
  }

  @Test
  void aPathNoTableDeclaresIsNotFound() {
    for (String path : List.of(
        "/v1/nothing",
        "/v1/join/",
        "/v1/admin/nothing",
        "/v1/admin/bots/web/extra",
        "/v1/admin/audit/nothing",
        "/v1/admin/",
        "/v1/admin/instances/web")) {
      for (String method : METHODS) {
        ProtocolClient.Reply r = send(admin, method, path);
        assertThat(r.status()).as(method + " " + path + " -> " + r).isEqualTo(404);
        assertThat(r.contentType()).startsWith(Protocol.PROBLEM_JSON);
        assertThat(r.code()).isEqualTo("not_found");
      }
    }
  }
}
