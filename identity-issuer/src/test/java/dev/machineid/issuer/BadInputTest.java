package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.testkit.ProtocolClient;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/** docs/architecture.md §11, invariant 12: bad input gets a 4xx problem response with a code, never a 5xx, a hang, or changed state. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BadInputTest {
  private static final int TEN_MB = 10 * 1024 * 1024;

  private Issuer issuer;
  private ProtocolClient anonymous;
  private ProtocolClient bot;
  private KeyPair botKeys;
  private String token;

  @BeforeAll
  void start() {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("web");
    botKeys = ProtocolClient.ec();
    anonymous = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    IdentityResponse c = anonymous
        .join(issuer.tokens().create("web", Duration.ofMinutes(10)), botKeys, null)
        .as(IdentityResponse.class);
    bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), botKeys, c);
    token = issuer.tokens().create("web", Duration.ofMinutes(10));
  }

  @AfterAll
  void stop() {
    issuer.close();
  }

  /** Everything a bad request must not change; failure audit records are allowed. */
  private record Snapshot(
      List<Bot> bots,
      List<Token> tokens,
      List<BotInstance> instances,
      List<Lock> locks,
      List<AuditEvent> audit) {}

  private Snapshot snapshot() {
    return new Snapshot(
        issuer.bots().list(),
        issuer.tokens().list(),
        issuer.instances().list("web"),
        issuer.locks().list(),
        issuer.audit().events().stream().filter(e -> !e.failed()).toList());
  }

  private record Case(String name, Supplier<ProtocolClient.Reply> request) {}

  private static final List<String> CODES = Arrays.stream(ErrorCode.values())
      .filter(c -> c != ErrorCode.INTERNAL && c != ErrorCode.UNAVAILABLE)
      .map(ErrorCode::code)
      .toList();

  private void assertProblem(ProtocolClient.Reply reply) {
    assertThat(reply.status()).as(reply.toString()).isBetween(400, 499);
    assertThat(reply.contentType()).as(reply.toString()).startsWith(Protocol.PROBLEM_JSON);
    JsonNode json = reply.json();
    assertThat(json.get("code").asText()).isIn(CODES);
    assertThat(json.get("status").asInt()).isEqualTo(reply.status());
    assertThat(json.get("title").asText()).isNotBlank();
    assertThat(json.get("type").asText()).isNotBlank();
  }

  @TestFactory
  Stream<DynamicTest> badInputGetsProblemResponseAndChangesNothing() {
    List<Case> cases = new ArrayList<>();
    // generic bodies, for every POST endpoint, anonymous and with a bot certificate
    for (String path : List.of("/v1/join/challenge", "/v1/join", "/v1/renew", "/v1/heartbeat")) {
      for (ProtocolClient client : List.of(anonymous, bot)) {
        String who = client == bot ? " (mTLS)" : "";
        for (String body : List.of(
            "",
            "{",
            "{\"join_method\":",
            "[]",
            "\"text\"",
            "42",
            "null",
            "{} {}",
            "{\"a\":1,\"a\":2}",
            "{\"a\":1} trailing",
            "\u0000\u0001",
            "[".repeat(5000) + "]".repeat(5000))) {
          cases.add(
              new Case(path + who + " body " + abbreviate(body), () -> client.post(path, body)));
        }
        cases.add(new Case(
            path + who + " text/plain",
            () -> client.send(
                "POST", path, "text/plain", HttpRequest.BodyPublishers.ofString("hello"))));
        cases.add(new Case(
            path + who + " form",
            () -> client.send(
                "POST",
                path,
                "application/x-www-form-urlencoded",
                HttpRequest.BodyPublishers.ofString("a=b"))));
        cases.add(new Case(
            path + who + " 10 MB with length",
            () -> client.send(
                "POST",
                path,
                "application/json",
                HttpRequest.BodyPublishers.ofByteArray(new byte[TEN_MB]))));
        cases.add(new Case(
            path + who + " 10 MB chunked",
            () -> client.send(
                "POST",
                path,
                "application/json",
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> new ByteArrayInputStream(new byte[TEN_MB])))));
        cases.add(new Case(path + who + " GET", () -> client.get(path)));
        cases.add(new Case(
            path + who + " PUT",
            () -> client.send(
                "PUT", path, "application/json", HttpRequest.BodyPublishers.ofString("{}"))));
        cases.add(new Case(
            path + who + " DELETE",
            () -> client.send("DELETE", path, null, HttpRequest.BodyPublishers.noBody())));
      }
    }
    for (String method : List.of("POST", "PUT", "DELETE", "PATCH")) {
      cases.add(new Case(
          "/v1/authority " + method,
          () -> anonymous.send(
              method,
              "/v1/authority",
              "application/json",
              HttpRequest.BodyPublishers.ofString("{}"))));
    }
    for (String path : List.of(
        "/",
        "/v1",
        "/v1/",
        "/v1/joins",
        "/v1/join/",
        "/V1/JOIN",
        "/v2/join",
        "/v1/admin/bots",
        "/v1/authority/x",
        "/v1/certificates",
        "/%2e%2e/v1/join",
        "/v1/join;x")) {
      cases.add(new Case("unknown path " + path, () -> anonymous.post(path, "{}")));
    }

    // challenge: missing fields, wrong types, unknown method, bad keys
    Supplier<ObjectNode> challenge = () -> ProtocolClient.object()
        .put("join_method", "token")
        .put("token", token)
        .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()));
    mutations(
        cases,
        "/v1/join/challenge",
        anonymous,
        challenge,
        List.of("join_method", "public_key"),
        List.of("join_method", "token", "public_key"));
    cases.add(new Case(
        "challenge unknown method",
        () -> anonymous.post("/v1/join/challenge", challenge.get().put("join_method", "nope"))));
    for (String key : List.of(
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        Pem.encode(ProtocolClient.rsa(1024).getPublic()))) {
      cases.add(new Case(
          "challenge bad key " + abbreviate(key),
          () -> anonymous.post("/v1/join/challenge", challenge.get().put("public_key", key))));
    }

    // join: every variation comes with a fresh, valid challenge for the (valid, unused) token
    Supplier<ObjectNode> join = () -> {
      KeyPair k = ProtocolClient.ec();
      return ProtocolClient.joinRequest(token, anonymous.challenge("token", token, k), k, null);
    };
    mutations(
        cases,
        "/v1/join",
        anonymous,
        join,
        List.of("join_method", "challenge", "challenge_signature", "public_key", "token"),
        List.of(
            "join_method",
            "token",
            "challenge",
            "challenge_signature",
            "public_key",
            "proof",
            "ttl",
            "ssh_public_key"));
    cases.add(new Case(
        "join unknown method",
        () -> anonymous.post("/v1/join", join.get().put("join_method", "nope"))));
    cases.add(new Case(
        "join ttl unparseable",
        () -> anonymous.post("/v1/join", join.get().put("ttl", "forever"))));
    cases.add(
        new Case("join ttl zero", () -> anonymous.post("/v1/join", join.get().put("ttl", "0s"))));
    cases.add(new Case(
        "join ttl too long", () -> anonymous.post("/v1/join", join.get().put("ttl", "48h"))));
    cases.add(new Case(
        "join signature not base64",
        () -> anonymous.post("/v1/join", join.get().put("challenge_signature", "***"))));
    cases.add(new Case(
        "join challenge garbage",
        () -> anonymous.post("/v1/join", join.get().put("challenge", "x".repeat(500)))));
    cases.add(
        new Case("join proof not empty", () -> anonymous.post("/v1/join", withProof(join.get()))));

    // renew (with the bot certificate, so that the body is what fails)
    Supplier<ObjectNode> renew = () -> ProtocolClient.object()
        .put("generation", 1)
        .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()));
    mutations(
        cases,
        "/v1/renew",
        bot,
        renew,
        List.of("generation", "public_key"),
        List.of("generation", "public_key", "ttl", "ssh_public_key"));
    cases.add(new Case(
        "renew generation fraction",
        () -> bot.post(
            "/v1/renew",
            "{\"generation\":1.5,\"public_key\":" + quote(Pem.encode(botKeys.getPublic())) + "}")));
    cases.add(new Case(
        "renew generation huge",
        () -> bot.post(
            "/v1/renew",
            "{\"generation\":123456789012345678901234567890,\"public_key\":"
                + quote(Pem.encode(botKeys.getPublic())) + "}")));
    cases.add(new Case(
        "renew generation as string",
        () -> bot.post("/v1/renew", renew.get().put("generation", "1"))));
    cases.add(
        new Case("renew ttl too long", () -> bot.post("/v1/renew", renew.get().put("ttl", "25h"))));
    cases.add(new Case("renew anonymous", () -> anonymous.post("/v1/renew", renew.get())));

    // heartbeat
    Supplier<ObjectNode> heartbeat = () -> ProtocolClient.object()
        .put("hostname", "h")
        .put("version", "1")
        .put("uptime_seconds", 5)
        .put("one_shot", false);
    mutations(
        cases,
        "/v1/heartbeat",
        bot,
        heartbeat,
        List.of("hostname", "version", "uptime_seconds", "one_shot"),
        List.of("hostname", "version", "uptime_seconds", "one_shot", "outputs"));
    cases.add(new Case(
        "heartbeat negative uptime",
        () -> bot.post("/v1/heartbeat", heartbeat.get().put("uptime_seconds", -1))));
    cases.add(new Case(
        "heartbeat output not a string",
        () -> bot.post("/v1/heartbeat", withOutputs(heartbeat.get()))));
    cases.add(
        new Case("heartbeat anonymous", () -> anonymous.post("/v1/heartbeat", heartbeat.get())));

    return cases.stream()
        .map(c -> DynamicTest.dynamicTest(c.name(), () -> {
          Snapshot before = snapshot();
          ProtocolClient.Reply reply = c.request().get();
          assertProblem(reply);
          assertThat(snapshot()).isEqualTo(before);
        }));
  }

  /** Adds a case per missing required field and per wrong JSON type of every field. */
  private static void mutations(
      List<Case> cases,
      String path,
      ProtocolClient client,
      Supplier<ObjectNode> valid,
      List<String> required,
      List<String> fields) {
    for (String f : required) {
      cases.add(new Case(path + " missing " + f, () -> client.post(path, without(valid.get(), f))));
      cases.add(
          new Case(path + " null " + f, () -> client.post(path, valid.get().putNull(f))));
    }
    for (String f : fields) {
      cases.add(new Case(
          path + " " + f + " as number", () -> client.post(path, wrongType(valid.get(), f, 0))));
      cases.add(new Case(
          path + " " + f + " as array", () -> client.post(path, wrongType(valid.get(), f, 1))));
      cases.add(new Case(
          path + " " + f + " as object or string",
          () -> client.post(path, wrongType(valid.get(), f, 2))));
    }
  }

  private static ObjectNode without(ObjectNode o, String field) {
    o.remove(field);
    return o;
  }

  private static ObjectNode wrongType(ObjectNode o, String field, int kind) {
    JsonNode current = o.get(field);
    switch (kind) {
      case 0 -> o.put(field, current != null && current.isNumber() ? 1 : 12345);
      case 1 -> o.set(field, Protocol.nodes().arrayNode().add("x"));
      default -> {
        if (current != null && current.isObject()) {
          o.put(field, "not an object");
        } else if (current != null && (current.isNumber() || current.isBoolean())) {
          o.put(field, "7");
        } else {
          o.set(field, ProtocolClient.object().put("x", 1));
        }
      }
    }
    if (kind == 0 && current != null && current.isNumber()) {
      o.put(field, true);
    }
    return o;
  }

  private static ObjectNode withProof(ObjectNode o) {
    o.set("proof", ProtocolClient.object().put("x", "y"));
    return o;
  }

  private static ObjectNode withOutputs(ObjectNode o) {
    o.set("outputs", ProtocolClient.object().put("ssh", 3));
    return o;
  }

  private static String quote(String s) {
    return Protocol.nodes().textNode(s).toString();
  }

  private static String abbreviate(String s) {
    String t = s.replaceAll("\\p{Cntrl}", "?");
    return t.length() > 24 ? t.substring(0, 24) + "…" : t;
  }

  @Test
  void oversizedBodyIsRefusedWithoutReadingIt() throws Exception {
    Snapshot before = snapshot();
    KeyStoreHolder trust = new KeyStoreHolder(issuer);
    try (SSLSocket socket =
        (SSLSocket) trust.context.getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("POST /v1/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                  + TEN_MB + "\r\n\r\n{\"join_method\":")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      // the rest of the 10 MB never comes: the issuer must answer anyway
      InputStream in = socket.getInputStream();
      String response = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
      assertThat(response).isEqualTo("HTTP/1.1 413");
    }
    assertThat(snapshot()).isEqualTo(before);
  }

  private static final class KeyStoreHolder {
    final SSLContext context;

    KeyStoreHolder(Issuer issuer) throws Exception {
      java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setCertificateEntry("issuer", issuer.authorityCertificate());
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ks);
      context = SSLContext.getInstance("TLS");
      context.init(null, tmf.getTrustManagers(), null);
    }
  }
}
