package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.ProtocolClient;
import java.net.http.HttpRequest;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every body an endpoint reads, protocol and admin: a field of the wrong JSON type is refused with
 * {@code 400 malformed_request} whose detail names that field (its path, for a nested one), and
 * changes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class WrongFieldTypeTest {
  private Issuer issuer;
  private ProtocolClient anonymous;
  private ProtocolClient bot;
  private ProtocolClient admin;
  private String key;

  @BeforeAll
  void start() {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("web");
    KeyPair botKeys = ProtocolClient.ec();
    anonymous = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    IdentityResponse c = anonymous
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
    key = Pem.encode(ProtocolClient.ec().getPublic()).replace("\n", "\\n");
  }

  @AfterAll
  void stop() {
    issuer.close();
  }

  enum Who {
    ANONYMOUS,
    BOT,
    ADMIN
  }

  /** Every endpoint that reads a body, a body with one field of the wrong type, and that field's path. */
  static Stream<Arguments> bodies() {
    return Stream.of(
        Arguments.of(
            Who.ANONYMOUS,
            "POST",
            "/v1/join/challenge",
            "{\"join_method\":5,\"public_key\":\"KEY\"}",
            "join_method"),
        Arguments.of(
            Who.ANONYMOUS,
            "POST",
            "/v1/join",
            "{\"join_method\":\"token\",\"challenge\":7,\"challenge_signature\":\"AA==\",\"public_key\":\"KEY\"}",
            "challenge"),
        Arguments.of(
            Who.ANONYMOUS,
            "POST",
            "/v1/join",
            "{\"join_method\":\"token\",\"challenge\":\"c\",\"challenge_signature\":\"AA==\",\"public_key\":\"KEY\",\"proof\":[1]}",
            "proof"),
        Arguments.of(
            Who.BOT,
            "POST",
            "/v1/renew",
            "{\"generation\":\"1\",\"public_key\":\"KEY\"}",
            "generation"),
        Arguments.of(
            Who.BOT,
            "POST",
            "/v1/renew",
            "{\"generation\":1.5,\"public_key\":\"KEY\"}",
            "generation"),
        Arguments.of(
            Who.BOT,
            "POST",
            "/v1/heartbeat",
            "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":\"5\",\"one_shot\":false}",
            "uptime_seconds"),
        Arguments.of(
            Who.BOT,
            "POST",
            "/v1/heartbeat",
            "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":5,\"one_shot\":\"no\"}",
            "one_shot"),
        Arguments.of(
            Who.BOT,
            "POST",
            "/v1/heartbeat",
            "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":5,\"one_shot\":false,\"outputs\":{\"web\":1}}",
            "outputs.web"),
        Arguments.of(Who.BOT, "POST", "/v1/certificates", "{\"kind\":3,\"roles\":[\"r\"]}", "kind"),
        Arguments.of(
            Who.BOT,
            "POST",
            "/v1/certificates",
            "{\"kind\":\"application\",\"target\":\"x\",\"public_key\":\"KEY\"}",
            "target"),
        Arguments.of(Who.ADMIN, "POST", "/v1/admin/renew", "{\"public_key\":1}", "public_key"),
        Arguments.of(
            Who.ADMIN,
            "POST",
            "/v1/admin/sign",
            "{\"kind\":\"ssh_host\",\"host_names\":\"a.example\"}",
            "host_names"),
        Arguments.of(Who.ADMIN, "PUT", "/v1/admin/admins", "{\"names\":\"ops\"}", "names"),
        Arguments.of(
            Who.ADMIN, "POST", "/v1/admin/bots", "{\"name\":\"api\",\"roles\":\"r\"}", "roles"),
        Arguments.of(
            Who.ADMIN,
            "POST",
            "/v1/admin/bots",
            "{\"name\":\"api\",\"traits\":{\"team\":5}}",
            "traits.team"),
        Arguments.of(Who.ADMIN, "PATCH", "/v1/admin/bots/web", "{\"logins\":{\"a\":1}}", "logins"),
        Arguments.of(
            Who.ADMIN,
            "POST",
            "/v1/admin/roles",
            "{\"kind\":\"role\",\"metadata\":{\"name\":5},\"spec\":{}}",
            "metadata.name"),
        Arguments.of(
            Who.ADMIN,
            "PUT",
            "/v1/admin/roles/dev",
            "{\"kind\":\"role\",\"metadata\":{\"name\":\"dev\"},\"spec\":{\"allow\":{\"logins\":\"root\"}}}",
            "spec.allow.logins"),
        Arguments.of(
            Who.ADMIN,
            "POST",
            "/v1/admin/tokens",
            "{\"kind\":\"token\",\"spec\":{\"bot_name\":5,\"join_method\":\"token\"}}",
            "spec.bot_name"),
        Arguments.of(
            Who.ADMIN, "POST", "/v1/admin/locks", "{\"target\":\"bot\",\"value\":7}", "value"),
        Arguments.of(Who.ADMIN, "POST", "/v1/admin/audit/prune", "{\"before\":5}", "before"));
  }

  @ParameterizedTest(name = "{1} {2} with a wrong {4}")
  @MethodSource("bodies")
  void aFieldOfTheWrongTypeIsMalformedRequestNamingTheField(
      Who who, String method, String path, String body, String field) {
    ProtocolClient client =
        switch (who) {
          case ANONYMOUS -> anonymous;
          case BOT -> bot;
          case ADMIN -> admin;
        };
    int audited =
        issuer.audit().events().stream().filter(e -> !e.failed()).toList().size();
    ProtocolClient.Reply r = client.send(
        method,
        path,
        "application/json",
        HttpRequest.BodyPublishers.ofString(body.replace("KEY", key)));
    assertThat(r.status()).as(r.toString()).isEqualTo(400);
    assertThat(r.code()).as(r.toString()).isEqualTo("malformed_request");
    assertThat(r.json().path("detail").asText()).as(r.toString()).contains(field);
    assertThat(issuer.audit().events().stream().filter(e -> !e.failed()).toList())
        .hasSize(audited);
  }
}
