package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.ProtocolClient;
import java.net.http.HttpRequest;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AdminApiTest {
  private final MutableClock clock = MutableClock.stopped();
  private Issuer issuer;
  private ProtocolClient admin;
  private X509Certificate adminCert;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().trustDomain("example.test").clock(clock).build().start();
    KeyPair keys = ProtocolClient.ec();
    adminCert = issuer.admins().issueCertificate("ops", keys.getPublic(), Duration.ofHours(12));
    admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), keys.getPrivate(), new X509Certificate[] {
          adminCert
        });
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  private ProtocolClient.Reply delete(ProtocolClient c, String path) {
    return c.send("DELETE", path, null, HttpRequest.BodyPublishers.noBody());
  }

  /** A bot that joined with a token: its keys and credentials. */
  private record Joined(KeyPair keys, IdentityResponse credentials) {}

  private Joined joinBot(String name) {
    issuer.bots().create(name);
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply r = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create(name, Duration.ofMinutes(5)), keys, null);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return new Joined(keys, r.as(IdentityResponse.class));
  }

  @Test
  void adminCertificateIsDistinguishableFromBotIdentities() throws Exception {
    assertThat(adminCert.getSubjectX500Principal().getName()).isEqualTo("CN=admin-ops");
    assertThat(adminCert.getSubjectAlternativeNames())
        .containsExactly(List.of(6, "spiffe://example.test/admin/ops"));
    assertThat(adminCert.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
    assertThat(Duration.between(
            adminCert.getNotBefore().toInstant(), adminCert.getNotAfter().toInstant()))
        .isLessThanOrEqualTo(Duration.ofHours(12).plusMinutes(1));
    assertThat(issuer.admins().list()).extracting(AdminIdentity::name).containsExactly("ops");
  }

  @Test
  void botEndpointsRefuseTheAdminCertificate() {
    ProtocolClient.Reply renew = admin.renew(1, ProtocolClient.ec(), null);
    assertThat(renew.status()).as(renew.toString()).isEqualTo(401);
    assertThat(renew.code()).isEqualTo("unauthenticated");
    ProtocolClient.Reply hb = admin.post(
        "/v1/heartbeat",
        "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":1,\"one_shot\":false}");
    assertThat(hb.code()).isEqualTo("unauthenticated");
  }

  @Test
  void adminEndpointsRefuseBotCertificatesAndAnonymousCallers() {
    Joined bot = joinBot("web");
    ProtocolClient asBot = ProtocolClient.as(
        issuer.url(), issuer.authorityCertificate(), bot.keys(), bot.credentials());
    ProtocolClient.Reply r = asBot.get("/v1/admin/bots");
    assertThat(r.status()).as(r.toString()).isEqualTo(401);
    assertThat(r.code()).isEqualTo("unauthenticated");
    assertThat(ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
            .get("/v1/admin/bots")
            .code())
        .isEqualTo("unauthenticated");
    assertThat(asBot.post("/v1/admin/bots", "{\"name\":\"evil\"}").status()).isEqualTo(401);
    assertThat(issuer.bots().find("evil")).isEmpty();
  }

  @Test
  void adminCertificateOfAnUnrecordedAdminIsRefused() {
    // signed by the authority but never recorded: e.g. a certificate from another issuer's init
    // directory
    KeyPair keys = ProtocolClient.ec();
    X509Certificate stray = dev.machineid.issuer.internal.admin.AdminCertificates.issue(
        keysOf(issuer),
        "example.test",
        "stranger",
        keys.getPublic(),
        clock.instant(),
        Duration.ofHours(1),
        new java.security.SecureRandom());
    ProtocolClient.Reply r = ProtocolClient.mtls(
            issuer.url(), issuer.authorityCertificate(), keys.getPrivate(), new X509Certificate[] {
              stray
            })
        .get("/v1/admin/bots");
    assertThat(r.code()).isEqualTo("unauthenticated");
  }

  private static dev.machineid.issuer.internal.authority.CertificateAuthority keysOf(
      Issuer issuer) {
    try {
      java.lang.reflect.Field f = Issuer.class.getDeclaredField("keys");
      f.setAccessible(true);
      return ((dev.machineid.issuer.internal.authority.KeyMaterial) f.get(issuer)).authority();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void adminRenewalIssuesAFreshAdminCertificate() {
    KeyPair next = ProtocolClient.ec();
    ObjectNode req =
        ProtocolClient.object().put("public_key", Pem.encode(next.getPublic())).put("ttl", "1h");
    ProtocolClient.Reply r = admin.post("/v1/admin/renew", req);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    X509Certificate renewed =
        Pem.certificate(r.json().get("certificate_chain").get(0).asText());
    assertThat(renewed.getPublicKey()).isEqualTo(next.getPublic());
    assertThat(renewed.getSubjectX500Principal().getName()).isEqualTo("CN=admin-ops");
    ProtocolClient.Reply again = ProtocolClient.mtls(
            issuer.url(), issuer.authorityCertificate(), next.getPrivate(), new X509Certificate[] {
              renewed
            })
        .get("/v1/admin/status");
    assertThat(again.status()).isEqualTo(200);
    assertThat(again.json().get("ca_pin").asText()).isEqualTo(issuer.caPin().toString());
    assertThat(admin
            .post(
                "/v1/admin/renew",
                ProtocolClient.object()
                    .put("public_key", Pem.encode(next.getPublic()))
                    .put("ttl", "48h"))
            .code())
        .isEqualTo("ttl_exceeded");
  }

  @Test
  void expiredAdminCertificateIsRefused() {
    clock.advance(Duration.ofHours(13));
    assertThat(admin.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
  }

  @Test
  void botsAreCreatedListedAndDeletedWithAJoinToken() {
    ProtocolClient.Reply missingRole =
        admin.post("/v1/admin/bots", "{\"name\":\"web\",\"roles\":[\"deployer\"]}");
    assertThat(missingRole.code()).isEqualTo("not_found");
    assertThat(missingRole.json().get("detail").asText()).contains("deployer");
    assertThat(admin.post("/v1/admin/roles", role("deployer")).status()).isEqualTo(201);

    ProtocolClient.Reply created = admin.post(
        "/v1/admin/bots", "{\"name\":\"web\",\"roles\":[\"deployer\"],\"logins\":[\"deploy\"]}");
    assertThat(created.status()).as(created.toString()).isEqualTo(201);
    JsonNode c = created.json();
    assertThat(c.get("bot").get("traits").get("logins").get(0).asText()).isEqualTo("deploy");
    assertThat(c.get("ca_pin").asText()).isEqualTo(issuer.caPin().toString());
    ProtocolClient.Reply join = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(c.get("token").asText(), ProtocolClient.ec(), null);
    assertThat(join.status()).as(join.toString()).isEqualTo(200);

    assertThat(admin
            .post("/v1/admin/bots", "{\"name\":\"web\"}")
            .json()
            .get("detail")
            .asText())
        .contains("already exists");
    assertThat(admin.get("/v1/admin/bots").json()).hasSize(1);
    assertThat(admin.get("/v1/admin/bots/web").json().get("roles").get(0).asText())
        .isEqualTo("deployer");
    assertThat(delete(admin, "/v1/admin/bots/web").status()).isEqualTo(204);
    assertThat(delete(admin, "/v1/admin/bots/web").code()).isEqualTo("not_found");
    assertThat(admin.get("/v1/admin/bots/nobody").code()).isEqualTo("not_found");
  }

  private static String role(String name) {
    return "{\"kind\":\"role\",\"version\":\"v1\",\"metadata\":{\"name\":\"" + name + "\"},"
        + "\"spec\":{\"allow\":{\"logins\":[\"deploy\",\"{{internal.logins}}\"],\"db_users\":[\"app\"],\"kubernetes_groups\":[\"viewers\"],"
        + "\"host_names\":[\"*.db.internal\"],\"jwt_audiences\":[\"billing\"]},\"options\":{\"max_ttl\":\"30m\"}}}";
  }

  @Test
  void rolesKeepTheResourceShapeAndRefuseBadOnes() {
    ProtocolClient.Reply r = admin.post("/v1/admin/roles", role("deployer"));
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    JsonNode listed = admin.get("/v1/admin/roles").json();
    assertThat(listed).hasSize(1);
    JsonNode spec = listed.get(0).get("spec");
    assertThat(spec.get("allow").get("logins").get(1).asText()).isEqualTo("{{internal.logins}}");
    assertThat(spec.get("options").get("max_ttl").asText()).isEqualTo("30m");
    assertThat(issuer.roles().find("deployer"))
        .get()
        .extracting(Role::maxTtl)
        .isEqualTo(Duration.ofMinutes(30));

    assertThat(
            admin.post("/v1/admin/roles", role("deployer")).json().get("detail").asText())
        .contains("already exists");
    ProtocolClient.Reply unknownKey = admin.post(
        "/v1/admin/roles",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"allow\":{\"logns\":[\"a\"]}}}");
    assertThat(unknownKey.code()).isEqualTo("malformed_request");
    assertThat(unknownKey.json().get("detail").asText()).contains("spec.allow.logns");
    ProtocolClient.Reply system = admin.post(
        "/v1/admin/roles",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"x\"},\"spec\":{\"allow\":{\"kubernetes_groups\":[\"system:masters\"]}}}");
    assertThat(system.json().get("detail").asText()).contains("allow_system_groups");
    assertThat(admin
            .post(
                "/v1/admin/roles", "{\"kind\":\"token\",\"metadata\":{\"name\":\"x\"},\"spec\":{}}")
            .code())
        .isEqualTo("malformed_request");
    assertThat(delete(admin, "/v1/admin/roles/deployer").status()).isEqualTo(204);
    assertThat(admin.get("/v1/admin/roles").json()).isEmpty();
  }

  @Test
  void delegatedTokenWithoutIdentifyingRuleIsRefusedAtCreation() {
    issuer.bots().create("deployer");
    String noRule =
        "{\"kind\":\"token\",\"version\":\"v1\",\"metadata\":{\"name\":\"gha\"},\"spec\":{\"bot_name\":\"deployer\",\"join_method\":\"github\","
            + "\"expires\":\"2099-01-01T00:00:00Z\",\"github\":{\"allow\":[{\"ref\":\"refs/heads/main\"}]}}}";
    ProtocolClient.Reply r = admin.post("/v1/admin/tokens", noRule);
    assertThat(r.code()).isEqualTo("malformed_request");
    assertThat(r.json().get("detail").asText()).contains("identifying rule").contains("repository");
    String noBlock =
        "{\"kind\":\"token\",\"metadata\":{\"name\":\"k\"},\"spec\":{\"bot_name\":\"deployer\",\"join_method\":\"kubernetes\"}}";
    assertThat(admin.post("/v1/admin/tokens", noBlock).json().get("detail").asText())
        .contains("service_account");
    String globOwner =
        "{\"kind\":\"token\",\"metadata\":{\"name\":\"a\"},\"spec\":{\"bot_name\":\"deployer\",\"join_method\":\"iam\",\"iam\":{\"allow\":[{\"aws_account\":\"12*\"}]}}}";
    assertThat(admin.post("/v1/admin/tokens", globOwner).json().get("detail").asText())
        .contains("exact");
    assertThat(issuer.tokens().list()).isEmpty();

    String good =
        "{\"kind\":\"token\",\"version\":\"v1\",\"metadata\":{\"name\":\"gha\"},\"spec\":{\"bot_name\":\"deployer\",\"join_method\":\"github\","
            + "\"expires\":\"2099-01-01T00:00:00Z\",\"github\":{\"allow\":[{\"repository\":\"acme/app\",\"ref\":\"refs/heads/main\"}]}}}";
    ProtocolClient.Reply ok = admin.post("/v1/admin/tokens", good);
    assertThat(ok.status()).as(ok.toString()).isEqualTo(201);
    JsonNode listed = admin.get("/v1/admin/tokens").json();
    assertThat(listed).hasSize(1);
    assertThat(listed.get(0).get("name").asText()).isEqualTo("gha");
    assertThat(listed.get(0).get("rules").get("allow").get(0).get("repository").asText())
        .isEqualTo("acme/app");
    assertThat(admin.post("/v1/admin/tokens", good).json().get("detail").asText())
        .contains("already exists");
    assertThat(delete(admin, "/v1/admin/tokens/gha").status()).isEqualTo(204);
    assertThat(delete(admin, "/v1/admin/tokens/gha").code()).isEqualTo("not_found");
  }

  @Test
  void secretTokensFromResourcesJoinOnceAndNeverListTheirSecret() {
    issuer.bots().create("web");
    ProtocolClient.Reply r = admin.post(
        "/v1/admin/tokens",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"ttl\":\"10m\"}}");
    assertThat(r.status()).as(r.toString()).isEqualTo(201);
    String secret = r.json().get("token").asText();
    assertThat(admin.get("/v1/admin/tokens").body()).doesNotContain(secret);
    assertThat(ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
            .join(secret, ProtocolClient.ec(), null)
            .status())
        .isEqualTo(200);
    assertThat(admin
            .post(
                "/v1/admin/tokens",
                "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"nobody\",\"join_method\":\"token\"}}")
            .json()
            .get("detail")
            .asText())
        .contains("nobody");
  }

  @Test
  void instancesShowInitialAndLatestAuthenticationAndHeartbeat() {
    Joined bot = joinBot("web");
    ProtocolClient asBot = ProtocolClient.as(
        issuer.url(), issuer.authorityCertificate(), bot.keys(), bot.credentials());
    KeyPair next = ProtocolClient.ec();
    ProtocolClient.Reply renewed = asBot.renew(1, next, null);
    assertThat(renewed.status()).as(renewed.toString()).isEqualTo(200);
    // heartbeats come from the instance's current certificate
    assertThat(ProtocolClient.as(
                issuer.url(),
                issuer.authorityCertificate(),
                next,
                renewed.as(IdentityResponse.class))
            .post(
                "/v1/heartbeat",
                "{\"hostname\":\"web-1\",\"version\":\"1.2\",\"uptime_seconds\":5,\"one_shot\":false}")
            .status())
        .isEqualTo(204);

    JsonNode list = admin.get("/v1/admin/instances?bot=web").json();
    assertThat(list).hasSize(1);
    String id = list.get(0).get("id").asText();
    assertThat(admin.get("/v1/admin/instances").json()).hasSize(1);
    JsonNode one = admin.get("/v1/admin/instances/web/" + id).json();
    assertThat(one.get("initial_authentication").get("generation").asLong()).isEqualTo(1);
    assertThat(one.get("latest_authentication").get("generation").asLong()).isEqualTo(2);
    assertThat(one.get("latest_heartbeat").get("hostname").asText()).isEqualTo("web-1");
    assertThat(admin.get("/v1/admin/instances/other/" + id).code()).isEqualTo("not_found");
    assertThat(admin.get("/v1/admin/instances?bot=nobody").code()).isEqualTo("not_found");
  }

  @Test
  void anInstanceShowsItsPublicFieldsAndNothingThatAuthorisesIt() {
    joinBot("web");

    JsonNode one = admin.get("/v1/admin/instances?bot=web").json().get(0);

    List<String> fields = new java.util.ArrayList<>();
    one.fieldNames().forEachRemaining(fields::add);
    // the operator's view: no key hash, credentials, serial, token or attested identity
    assertThat(fields)
        .containsExactlyInAnyOrder(
            "id",
            "bot",
            "join_method",
            "created_at",
            "generation",
            "locked",
            "initial_authentication",
            "latest_authentication",
            "latest_heartbeat");
    assertThat(one.get("bot").asText()).isEqualTo("web");
    assertThat(one.get("join_method").asText()).isEqualTo("token");
    assertThat(one.get("generation").asLong()).isEqualTo(1);
    assertThat(one.get("locked").asBoolean()).isFalse();
    assertThat(one.get("latest_heartbeat").isNull()).isTrue();
  }

  @Test
  void locksAreAddedListedAndRemovedAndRefuseRenewal() {
    Joined bot = joinBot("web");
    ProtocolClient.Reply lock = admin.post(
        "/v1/admin/locks", "{\"target\":\"bot\",\"value\":\"web\",\"reason\":\"incident 42\"}");
    assertThat(lock.status()).as(lock.toString()).isEqualTo(201);
    String lockId = lock.json().get("id").asText();
    assertThat(admin.get("/v1/admin/locks").json().get(0).get("reason").asText())
        .isEqualTo("incident 42");
    ProtocolClient asBot = ProtocolClient.as(
        issuer.url(), issuer.authorityCertificate(), bot.keys(), bot.credentials());
    assertThat(asBot.renew(1, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");
    assertThat(delete(admin, "/v1/admin/locks/" + lockId).status()).isEqualTo(204);
    assertThat(asBot.renew(1, ProtocolClient.ec(), null).status()).isEqualTo(200);
    assertThat(admin
            .post("/v1/admin/locks", "{\"target\":\"planet\",\"value\":\"x\"}")
            .code())
        .isEqualTo("malformed_request");
    assertThat(delete(admin, "/v1/admin/locks/nope").code()).isEqualTo("not_found");
  }

  @Test
  void auditFiltersBySinceTypeAndBot() {
    issuer.bots().create("a");
    clock.advance(Duration.ofMinutes(10));
    issuer.bots().create("b");
    issuer.tokens().create("b", Duration.ofMinutes(5));
    assertThat(admin.get("/v1/admin/audit?type=bot").json())
        .extracting(n -> n.get("bot").asText())
        .containsExactly("a", "b");
    assertThat(admin.get("/v1/admin/audit?type=bot.created&since=5m").json())
        .extracting(n -> n.get("bot").asText())
        .containsExactly("b");
    assertThat(admin.get("/v1/admin/audit?bot=b").json())
        .extracting(n -> n.get("type").asText())
        .containsExactly("bot.created", "token.created");
    assertThat(admin.get("/v1/admin/audit?since=yesterday").code()).isEqualTo("malformed_request");
  }

  @Test
  void changesMadeThroughTheAdminApiNameTheAdminInTheAuditLog() {
    issuer.bots().create("from-java");
    assertThat(admin
            .post("/v1/admin/bots", "{\"name\":\"from-admin\",\"roles\":[]}")
            .status())
        .isEqualTo(201);
    var events = admin.get("/v1/admin/audit?type=bot.created").json();
    assertThat(events)
        .extracting(n -> n.get("bot").asText())
        .containsExactly("from-java", "from-admin");
    // the embedding application's own call has no actor; the admin API's names the admin
    // certificate
    assertThat(events.get(0).path("detail").has("actor")).isFalse();
    assertThat(events.get(1).path("detail").path("actor").asText()).isEqualTo("admin:ops");
    assertThat(admin.get("/v1/admin/audit?type=token.created").json())
        .isNotEmpty()
        .allSatisfy(
            n -> assertThat(n.path("detail").path("actor").asText()).isEqualTo("admin:ops"));
    assertThat(issuer.audit().verify().intact()).isTrue();
  }

  @Test
  void unknownAdminEndpointsAndMethodsAreProblems() {
    assertThat(admin.get("/v1/admin/planets").code()).isEqualTo("not_found");
    assertThat(delete(admin, "/v1/admin/status").code()).isEqualTo("method_not_allowed");
    assertThat(admin.post("/v1/admin/bots", "not json").code()).isEqualTo("malformed_request");
  }

  @Test
  void metricsCountRequestsJoinsAndIssuance() {
    joinBot("web");
    ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join("not-a-token", ProtocolClient.ec(), null);
    ProtocolClient.Reply m =
        ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate()).get("/metrics");
    assertThat(m.status()).isEqualTo(200);
    assertThat(m.contentType()).startsWith("text/plain");
    assertThat(m.body())
        .contains("machineid_issuer_joins_total{method=\"token\",outcome=\"success\"} 1.0")
        .contains("machineid_issuer_joins_total{method=\"token\",outcome=\"proof_rejected\"} 1.0")
        .contains("machineid_issuer_issued_total{kind=\"identity\"} 1.0")
        .contains("machineid_issuer_requests_seconds_count{call=\"challenge\",code=\"ok\"}")
        .contains("machineid_issuer_requests_seconds_bucket");
  }

  private java.util.List<AuditEvent> refusedAdminCalls() {
    return issuer.audit().events().stream()
        .filter(e -> e.type().equals("admin.refused"))
        .toList();
  }

  @Test
  void aBotCertificateProbingTheAdminApiLeavesOneSampledAuditRowPerMinuteNamingWhoWhereAndWhy() {
    Joined bot = joinBot("web");
    X509Certificate botCert =
        Pem.certificate(bot.credentials().certificateChain().get(0));
    ProtocolClient asBot = ProtocolClient.as(
        issuer.url(), issuer.authorityCertificate(), bot.keys(), bot.credentials());
    for (int i = 0; i < 20; i++) {
      assertThat(asBot.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    }
    assertThat(refusedAdminCalls()).singleElement().satisfies(e -> {
      assertThat(e.failed()).isTrue();
      assertThat(e.detail())
          .containsEntry("sampled", "true")
          .containsEntry("suppressed_before", "0")
          .containsEntry("endpoint", "GET /v1/admin/bots")
          .containsEntry("subject", botCert.getSubjectX500Principal().getName())
          .containsEntry("serial", botCert.getSerialNumber().toString(16))
          .containsEntry("code", "unauthenticated")
          .containsKey("remote_address");
      assertThat(e.detail().get("reason")).contains("bot certificate");
    });
    // the next window writes the next probe, with how many the last one did not
    clock.advance(Duration.ofSeconds(61));
    assertThat(asBot
            .post("/v1/admin/locks", "{\"target\":\"bot\",\"value\":\"web\"}")
            .status())
        .isEqualTo(401);
    assertThat(refusedAdminCalls()).hasSize(2).last().satisfies(e -> assertThat(e.detail())
        .containsEntry("endpoint", "POST /v1/admin/locks")
        .containsEntry("suppressed_before", "19"));
    assertThat(issuer.locks().list()).isEmpty();
    assertThat(issuer.audit().verify().intact()).isTrue();
  }

  @Test
  void aRemovedAdminsCertificateRefusedOnTheAdminApiIsAudited() {
    KeyPair keys = ProtocolClient.ec();
    X509Certificate oncallCert =
        issuer.admins().issueCertificate("oncall", keys.getPublic(), Duration.ofHours(1));
    ProtocolClient oncall = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), keys.getPrivate(), new X509Certificate[] {
          oncallCert
        });
    assertThat(oncall.get("/v1/admin/status").status()).isEqualTo(200);
    assertThat(issuer.admins().remove("oncall")).isTrue();
    for (int i = 0; i < 5; i++) {
      assertThat(oncall.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    }
    assertThat(refusedAdminCalls()).singleElement().satisfies(e -> assertThat(e.detail())
        .containsEntry("sampled", "true")
        .containsEntry("endpoint", "GET /v1/admin/bots")
        .containsEntry("subject", "CN=admin-oncall")
        .containsEntry("serial", oncallCert.getSerialNumber().toString(16)));
  }

  @Test
  void aRenewedAdminCertificateRefusedARenewalIsAudited() {
    KeyPair next = ProtocolClient.ec();
    ProtocolClient.Reply r = admin.post(
        "/v1/admin/renew",
        ProtocolClient.object().put("public_key", Pem.encode(next.getPublic())).put("ttl", "1h"));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    X509Certificate renewed =
        Pem.certificate(r.json().get("certificate_chain").get(0).asText());
    ProtocolClient again = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), next.getPrivate(), new X509Certificate[] {
          renewed
        });
    ProtocolClient.Reply refused = again.post(
        "/v1/admin/renew",
        ProtocolClient.object()
            .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()))
            .put("ttl", "1h"));
    assertThat(refused.code()).as(refused.toString()).isEqualTo("unauthenticated");
    assertThat(refusedAdminCalls()).singleElement().satisfies(e -> assertThat(e.detail())
        .containsEntry("endpoint", "POST /v1/admin/renew")
        .containsEntry("subject", "CN=admin-ops")
        .containsEntry("serial", renewed.getSerialNumber().toString(16)));
  }

  @Test
  void aLockTtlUnderOneSecondIsMalformedRequestNamingTtlAndLocksNothing() {
    List<Lock> before = issuer.locks().list();
    for (String ttl : List.of("0s", "0", "500ms")) {
      ProtocolClient.Reply r = admin.post(
          "/v1/admin/locks", "{\"target\":\"bot\",\"value\":\"x\",\"ttl\":\"" + ttl + "\"}");
      assertThat(r.status()).as(r.toString()).isEqualTo(400);
      assertThat(r.code()).isEqualTo("malformed_request");
      assertThat(r.json().path("detail").asText()).as(r.toString()).contains("'ttl'");
    }
    assertThat(issuer.locks().list()).isEqualTo(before);
    assertThat(issuer.audit().events()).noneMatch(e -> e.type().equals("lock.created"));
  }

  @Test
  void theJavaApiRefusesALockThatWouldEndBeforeItApplies() {
    List<Lock> before = issuer.locks().list();
    for (Duration d : List.of(Duration.ZERO, Duration.ofSeconds(-5))) {
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> issuer
              .locks()
              .create(Lock.bot("x", "incident").expiringAt(clock.instant().plus(d))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("never apply");
    }
    assertThat(issuer.locks().list()).isEqualTo(before);
    Lock oneSecond = issuer
        .locks()
        .create(Lock.bot("x", "incident").expiringAt(clock.instant().plusSeconds(1)));
    assertThat(oneSecond.activeAt(clock.instant())).isTrue();
  }
}
