package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.testkit.ProtocolClient;
import java.net.http.HttpRequest;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * docs/architecture.md §11, invariant 12 on the authenticated endpoints: bad input to {@code /v1/certificates} (with a valid
 * bot certificate) and to every admin endpoint (with a valid admin certificate) gets a 4xx problem
 * response with a code and changes nothing: no bot, role, token, instance, lock or admin, and no
 * audit record except refusals, so no credential (no serial) was issued.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputAuthenticatedTest {
  private static final int TEN_MB = 10 * 1024 * 1024;
  private static final List<String> CODES = Arrays.stream(ErrorCode.values())
      .filter(c -> c != ErrorCode.INTERNAL)
      .map(ErrorCode::code)
      .toList();

  private Issuer issuer;
  private ProtocolClient bot;
  private ProtocolClient admin;

  @BeforeAll
  void start() {
    issuer = Issuer.builder().build().start();
    issuer
        .roles()
        .create(new Role(
            "svc",
            List.of("deploy"),
            List.of("app"),
            List.of("viewers"),
            List.of(),
            List.of("*.db.internal"),
            List.of("billing"),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "other",
            List.of("root"),
            List.of("admin"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer.bots().create("web", List.of("svc"), Map.of());
    KeyPair keys = ProtocolClient.ec();
    IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create("web", Duration.ofMinutes(10)), keys, null)
        .as(IdentityResponse.class);
    bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c);
    issuer.tokens().create("web", Duration.ofMinutes(10));
    KeyPair adminKeys = ProtocolClient.ec();
    X509Certificate adminCert =
        issuer.admins().issueCertificate("ops", adminKeys.getPublic(), Duration.ofHours(1));
    admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), adminKeys.getPrivate(), new X509Certificate[] {
          adminCert
        });
  }

  @AfterAll
  void stop() {
    issuer.close();
  }

  /** Everything a bad request must not change; refusals may be audited. */
  private record Snapshot(
      List<Bot> bots,
      List<Role> roles,
      List<Token> tokens,
      List<BotInstance> instances,
      List<Lock> locks,
      List<AdminIdentity> admins,
      List<AuditEvent> successes) {}

  private Snapshot snapshot() {
    return new Snapshot(
        issuer.bots().list(),
        issuer.roles().list(),
        issuer.tokens().list(),
        issuer.bots().list().stream()
            .flatMap(b -> issuer.instances().list(b.name()).stream())
            .toList(),
        issuer.locks().list(),
        issuer.admins().list(),
        issuer.audit().events().stream().filter(e -> !e.failed()).toList());
  }

  private record Case(String name, Supplier<ProtocolClient.Reply> request) {}

  private static ObjectNode database() {
    ObjectNode req = ProtocolClient.object()
        .put("kind", "database")
        .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()))
        .put("ttl", "10m");
    req.putArray("roles").add("svc");
    req.putObject("target").put("database_user", "app");
    return req;
  }

  private static ObjectNode sshUser() {
    ObjectNode req = ProtocolClient.object()
        .put("kind", "ssh_user")
        .put("ssh_public_key", SshPublicKeys.authorizedKey(ProtocolClient.ec().getPublic()))
        .put("ttl", "10m");
    req.putArray("roles").add("svc");
    req.putObject("target").putArray("logins").add("deploy");
    return req;
  }

  @TestFactory
  Stream<DynamicTest> badInputToCertificatesAndAdminEndpointsGetsAProblemAndChangesNothing() {
    // the valid requests these cases are mutations of are accepted (and change state), checked
    // first
    assertThat(bot.post("/v1/certificates", database()).status()).isEqualTo(200);
    assertThat(bot.post("/v1/certificates", sshUser()).status()).isEqualTo(200);

    List<Case> cases = new ArrayList<>();
    generic(cases, "/v1/certificates", bot);
    generic(cases, "/v1/admin/bots", admin);
    generic(cases, "/v1/admin/roles", admin);
    generic(cases, "/v1/admin/tokens", admin);
    generic(cases, "/v1/admin/locks", admin);
    generic(cases, "/v1/admin/renew", admin);
    generic(cases, "/v1/admin/sign", admin);

    // /v1/certificates: kind, roles, target, ttl and keys
    String c = "/v1/certificates";
    // ttl and target may be null (absent): the default lifetime, an empty target
    fields(
        cases,
        c,
        bot,
        BadInputAuthenticatedTest::database,
        List.of("kind", "roles", "public_key"),
        List.of("kind", "roles", "target", "ttl", "public_key"));
    for (Object kind : List.of("nope", "", "DATABASE", "database ", "ssh_host")) {
      cases.add(
          new Case(c + " kind " + kind, () -> bot.post(c, database().put("kind", (String) kind))));
    }
    cases.add(new Case(c + " missing kind", () -> bot.post(c, without(database(), "kind"))));
    cases.add(
        new Case(c + " missing public_key", () -> bot.post(c, without(database(), "public_key"))));
    cases.add(new Case(c + " missing roles", () -> bot.post(c, without(database(), "roles"))));
    cases.add(new Case(c + " missing target", () -> bot.post(c, without(database(), "target"))));
    cases.add(new Case(c + " roles empty", () -> bot.post(c, roles(database()))));
    cases.add(new Case(c + " roles not granted", () -> bot.post(c, roles(database(), "other"))));
    cases.add(new Case(
        c + " roles not granted, for the user that role allows",
        () -> bot.post(c, target(roles(database(), "other"), "database_user", "admin"))));
    cases.add(new Case(
        c + " roles granted and not granted",
        () -> bot.post(c, target(roles(database(), "svc", "other"), "database_user", "admin"))));
    cases.add(new Case(c + " roles unknown", () -> bot.post(c, roles(database(), "nobody"))));
    cases.add(new Case(c + " roles with a number", () -> bot.post(c, numberRole(database()))));
    cases.add(new Case(c + " roles with a null", () -> bot.post(c, nullRole(database()))));
    cases.add(new Case(
        c + " roles a thousand",
        () -> bot.post(
            c,
            roles(database(), Stream.generate(() -> "svc-x").limit(1000).toArray(String[]::new)))));
    cases.add(new Case(
        c + " target user not allowed",
        () -> bot.post(c, target(database(), "database_user", "postgres"))));
    cases.add(new Case(
        c + " target user empty", () -> bot.post(c, target(database(), "database_user", ""))));
    cases.add(new Case(c + " target user number", () -> bot.post(c, withTargetNumber(database()))));
    cases.add(new Case(c + " target without user", () -> bot.post(c, emptyTarget(database()))));
    cases.add(
        new Case(c + " target login not allowed", () -> bot.post(c, logins(sshUser(), "root"))));
    cases.add(new Case(
        c + " ssh_user bad key",
        () -> bot.post(c, sshUser().put("ssh_public_key", "ssh-ed25519 AAAA"))));
    cases.add(new Case(
        c + " ssh_user without key", () -> bot.post(c, without(sshUser(), "ssh_public_key"))));
    for (String ttl : List.of("forever", "0s", "-5m", "25h", "1e3h", "", "10", "9999999999999h")) {
      cases.add(new Case(c + " ttl " + ttl, () -> bot.post(c, database().put("ttl", ttl))));
    }
    for (String key : List.of(
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        Pem.encode(ProtocolClient.rsa(1024).getPublic()))) {
      cases.add(new Case(
          c + " bad key " + abbreviate(key), () -> bot.post(c, database().put("public_key", key))));
    }
    cases.add(new Case(c + " GET", () -> bot.get(c)));

    // admin endpoints: resource shapes, names, unknown resources and methods
    String roleOk =
        "{\"kind\":\"role\",\"version\":\"v1\",\"metadata\":{\"name\":\"r1\"},\"spec\":{\"allow\":{\"db_users\":[\"app\"]}}}";
    for (String body : List.of(
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"Bad Name\"},\"spec\":{}}",
        "{\"kind\":\"bot\",\"metadata\":{\"name\":\"r1\"},\"spec\":{}}",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"r1\"},\"spec\":{\"allow\":{\"logns\":[\"a\"]}}}",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"r1\"},\"spec\":{\"allow\":{\"kubernetes_groups\":[\"system:masters\"]}}}",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"r1\"},\"spec\":{\"options\":{\"max_ttl\":\"48h\"}}}",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"r1\"},\"spec\":{\"options\":{\"max_ttl\":\"soon\"}}}",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"svc\"},\"spec\":{}}",
        roleOk.replace("\"db_users\":[\"app\"]", "\"db_users\":\"app\""))) {
      cases.add(new Case("roles " + abbreviate(body), () -> admin.post("/v1/admin/roles", body)));
    }
    for (String body : List.of(
        "{\"name\":\"Web\"}",
        "{\"name\":\"\"}",
        "{\"name\":\"web\"}",
        "{\"name\":\"n2\",\"roles\":[\"nobody\"]}",
        "{\"name\":\"n2\",\"roles\":\"svc\"}",
        "{\"name\":\"n2\",\"traits\":[1]}",
        "{\"name\":\"n2\",\"token_ttl\":\"30d\"}",
        "{\"name\":\"n2\",\"token_ttl\":\"later\"}",
        "{\"roles\":[\"svc\"]}")) {
      cases.add(new Case("bots " + body, () -> admin.post("/v1/admin/bots", body)));
    }
    for (String body : List.of(
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"nobody\",\"join_method\":\"token\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"Bad Method!\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"nope\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"ttl\":\"1h\",\"expires\":\"2030-01-01T00:00:00Z\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"expires\":\"tomorrow\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"ttl\":\"-1h\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"iam\"}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"iam\",\"iam\":{\"allow\":[{\"aws_account\":\"12\"}]}}}",
        "{\"kind\":\"token\",\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"extra\":1}}",
        "{\"kind\":\"token\"}")) {
      cases.add(new Case("tokens " + abbreviate(body), () -> admin.post("/v1/admin/tokens", body)));
    }
    for (String body : List.of(
        "{\"target\":\"planet\",\"value\":\"x\"}",
        "{\"target\":\"bot\"}",
        "{\"value\":\"web\"}",
        "{\"target\":\"bot\",\"value\":\"web\",\"ttl\":\"never\"}",
        "{\"target\":\"bot\",\"value\":\"web\",\"ttl\":\"-1m\"}",
        "{\"target\":\"bot\",\"value\":\"\"}",
        "{\"target\":3,\"value\":\"web\"}")) {
      cases.add(new Case("locks " + body, () -> admin.post("/v1/admin/locks", body)));
    }
    for (String body : List.of(
        "{}",
        "{\"public_key\":\"nope\"}",
        "{\"public_key\":" + quote(Pem.encode(ProtocolClient.ec().getPublic()))
            + ",\"ttl\":\"48h\"}",
        "{\"public_key\":" + quote(Pem.encode(ProtocolClient.ec().getPublic()))
            + ",\"ttl\":\"0s\"}",
        "{\"public_key\":" + quote(Pem.encode(ProtocolClient.rsa(1024).getPublic())) + "}")) {
      cases.add(
          new Case("admin renew " + abbreviate(body), () -> admin.post("/v1/admin/renew", body)));
    }
    String pem = quote(Pem.encode(ProtocolClient.ec().getPublic()));
    for (String body : List.of(
        "{\"kind\":\"nope\",\"host_names\":[\"db1\"],\"public_key\":" + pem + "}",
        "{\"kind\":\"database_server\",\"host_names\":[],\"public_key\":" + pem + "}",
        "{\"kind\":\"database_server\",\"host_names\":\"db1\",\"public_key\":" + pem + "}",
        "{\"kind\":\"database_server\",\"host_names\":[\"db1\"]}",
        "{\"kind\":\"database_server\",\"host_names\":[\"db1\"],\"public_key\":" + pem
            + ",\"ttl\":\"5000d\"}",
        "{\"kind\":\"ssh_host\",\"host_names\":[\"db1\"],\"ssh_public_key\":\"ssh-rsa AAAA\"}",
        "{\"kind\":\"ssh_host\",\"host_names\":[\"db1\"]}",
        "{\"host_names\":[\"db1\"],\"public_key\":" + pem + "}")) {
      cases.add(new Case("sign " + abbreviate(body), () -> admin.post("/v1/admin/sign", body)));
    }
    for (String path : List.of(
        "/v1/admin/bots/nobody",
        "/v1/admin/roles/nobody",
        "/v1/admin/tokens/nothing",
        "/v1/admin/locks/nolock",
        "/v1/admin/instances",
        "/v1/admin/status",
        "/v1/admin/audit",
        "/v1/admin/nothing",
        "/v1/admin/bots/web/x")) {
      cases.add(new Case(
          "DELETE " + path,
          () -> admin.send("DELETE", path, null, HttpRequest.BodyPublishers.noBody())));
    }
    for (String path : List.of(
        "/v1/admin/bots/nobody",
        "/v1/admin/roles/nobody",
        "/v1/admin/instances/web/not-an-instance",
        "/v1/admin/instances?bot=nobody",
        "/v1/admin/audit?since=yesterday",
        "/v1/admin/audit?limit=lots",
        "/v1/admin/audit?limit=-1",
        "/v1/admin/nothing",
        "/v1/admin/",
        "/v1/admin/renew",
        "/v1/admin/sign",
        "/v1/admin/audit/verify",
        "/v1/admin/locks/x")) {
      cases.add(new Case("GET " + path, () -> admin.get(path)));
    }
    for (String path : List.of("/v1/admin/status", "/v1/admin/instances", "/v1/admin/bots/web")) {
      cases.add(new Case("POST " + path, () -> admin.post(path, "{}")));
    }
    for (String path : List.of("/v1/admin/bots", "/v1/admin/roles/svc")) {
      cases.add(new Case(
          "PUT " + path,
          () -> admin.send(
              "PUT", path, "application/json", HttpRequest.BodyPublishers.ofString("{}"))));
    }

    return cases.stream()
        .map(k -> DynamicTest.dynamicTest(k.name(), () -> {
          Snapshot before = snapshot();
          ProtocolClient.Reply reply = k.request().get();
          assertProblem(reply);
          assertThat(snapshot()).isEqualTo(before);
        }));
  }

  private void assertProblem(ProtocolClient.Reply reply) {
    assertThat(reply.status()).as(reply.toString()).isBetween(400, 499);
    assertThat(reply.contentType()).as(reply.toString()).startsWith(Protocol.PROBLEM_JSON);
    JsonNode json = reply.json();
    assertThat(json.get("code").asText()).isIn(CODES);
    assertThat(json.get("status").asInt()).isEqualTo(reply.status());
  }

  /** Bodies that are not a JSON object, wrong content types, oversized bodies. */
  private static void generic(List<Case> cases, String path, ProtocolClient client) {
    for (String body : List.of(
        "",
        "{",
        "[]",
        "\"text\"",
        "42",
        "null",
        "{} {}",
        "{\"a\":1,\"a\":2}",
        "\u0000\u0001",
        "[".repeat(5000) + "]".repeat(5000))) {
      cases.add(new Case(path + " body " + abbreviate(body), () -> client.post(path, body)));
    }
    cases.add(new Case(
        path + " text/plain",
        () ->
            client.send("POST", path, "text/plain", HttpRequest.BodyPublishers.ofString("hello"))));
    cases.add(new Case(
        path + " 10 MB",
        () -> client.send(
            "POST",
            path,
            "application/json",
            HttpRequest.BodyPublishers.ofByteArray(new byte[TEN_MB]))));
  }

  /** A case per null required field and per wrong JSON type of each field. */
  private static void fields(
      List<Case> cases,
      String path,
      ProtocolClient client,
      Supplier<ObjectNode> valid,
      List<String> required,
      List<String> fields) {
    for (String f : required) {
      cases.add(
          new Case(path + " null " + f, () -> client.post(path, valid.get().putNull(f))));
    }
    for (String f : fields) {
      cases.add(new Case(
          path + " " + f + " as number", () -> client.post(path, valid.get().put(f, 12345))));
      cases.add(new Case(
          path + " " + f + " as boolean", () -> client.post(path, valid.get().put(f, true))));
      cases.add(new Case(path + " " + f + " as array of arrays", () -> {
        ObjectNode o = valid.get();
        o.putArray(f).addArray().add("x");
        return client.post(path, o);
      }));
      cases.add(new Case(path + " " + f + " as object", () -> {
        ObjectNode o = valid.get();
        o.putObject(f).put("x", 1);
        return client.post(path, o);
      }));
    }
  }

  private static ObjectNode without(ObjectNode o, String field) {
    o.remove(field);
    return o;
  }

  private static ObjectNode roles(ObjectNode o, String... roles) {
    var a = o.putArray("roles");
    for (String r : roles) {
      a.add(r);
    }
    return o;
  }

  private static ObjectNode numberRole(ObjectNode o) {
    o.putArray("roles").add(7);
    return o;
  }

  private static ObjectNode nullRole(ObjectNode o) {
    o.putArray("roles").add("svc").addNull();
    return o;
  }

  private static ObjectNode target(ObjectNode o, String field, String value) {
    o.putObject("target").put(field, value);
    return o;
  }

  private static ObjectNode withTargetNumber(ObjectNode o) {
    o.putObject("target").put("database_user", 5);
    return o;
  }

  private static ObjectNode emptyTarget(ObjectNode o) {
    o.putObject("target");
    return o;
  }

  private static ObjectNode logins(ObjectNode o, String login) {
    o.putObject("target").putArray("logins").add(login);
    return o;
  }

  private static String quote(String s) {
    return Protocol.nodes().textNode(s).toString();
  }

  private static String abbreviate(String s) {
    String t = s.replaceAll("\\p{Cntrl}", "?");
    return t.length() > 40 ? t.substring(0, 40) + "…" : t;
  }
}
