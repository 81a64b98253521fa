package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.testkit.ProtocolClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Malformed request lines, headers, paths and bodies thrown at every endpoint, anonymously, with a
 * bot certificate and with an admin certificate: every one gets a 4xx problem document, and nothing
 * in the store changes. The generator is seeded, so a failure names a case that can be replayed.
 */
class EdgeFuzzTest {
  private static final long SEED = 0x5EED_ED6EL;
  private static final List<String> CODES = Arrays.stream(ErrorCode.values())
      .filter(c -> c != ErrorCode.INTERNAL)
      .map(ErrorCode::code)
      .toList();
  private static final List<String> BODY_PATHS = List.of(
      "/v1/join/challenge",
      "/v1/join",
      "/v1/renew",
      "/v1/certificates",
      "/v1/heartbeat",
      "/v1/admin/bots",
      "/v1/admin/roles",
      "/v1/admin/tokens",
      "/v1/admin/locks",
      "/v1/admin/sign",
      "/v1/admin/renew");
  private static final List<String> ALL_PATHS = concat(
      BODY_PATHS, List.of("/v1/authority", "/metrics", "/v1/admin/status", "/v1/admin/audit"));

  private record Snapshot(
      List<Bot> bots,
      List<Token> tokens,
      List<BotInstance> instances,
      List<Lock> locks,
      List<Role> roles,
      List<AuditEvent> audit) {}

  private static Snapshot snapshot(Issuer issuer) {
    return new Snapshot(
        issuer.bots().list(),
        issuer.tokens().list(),
        issuer.instances().list("web"),
        issuer.locks().list(),
        issuer.roles().list(),
        issuer.audit().events().stream().filter(e -> !e.failed()).toList());
  }

  @Test
  void malformedRequestsGetA4xxProblemAndChangeNothing() throws Exception {
    try (Issuer issuer =
        Issuer.builder().requestTimeout(Duration.ofSeconds(5)).build().start()) {
      issuer.bots().create("web");
      KeyPair botKeys = ProtocolClient.ec();
      IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(10)), botKeys, null)
          .as(IdentityResponse.class);
      X509Certificate[] botChain = c.certificateChain().stream()
          .map(dev.machineid.core.protocol.Pem::certificate)
          .toArray(X509Certificate[]::new);
      KeyPair adminKeys = ProtocolClient.ec();
      X509Certificate adminCert =
          issuer.admins().issueCertificate("ops", adminKeys.getPublic(), Duration.ofHours(1));
      issuer.tokens().create("web", Duration.ofMinutes(10));
      List<SSLContext> clients = List.of(
          context(issuer, null, null),
          context(issuer, botKeys.getPrivate(), botChain),
          context(issuer, adminKeys.getPrivate(), new X509Certificate[] {adminCert}));
      Snapshot before = snapshot(issuer);

      Random random = new Random(SEED);
      List<String> failures = new ArrayList<>();
      int cases = 0;
      for (int i = 0; i < 360; i++) {
        byte[] request = malformed(random, i);
        SSLContext ctx = clients.get(i % clients.size());
        String answer = send(issuer, ctx, request);
        String problem = check(answer);
        cases++;
        if (problem != null) {
          failures.add("case " + i + " " + printable(request) + ": " + problem + "\n  answer: "
              + printable(answer.getBytes(StandardCharsets.UTF_8)));
        }
      }
      assertThat(failures).as("%d of %d cases", failures.size(), cases).isEmpty();
      assertThat(snapshot(issuer)).isEqualTo(before);
    }
  }

  /** A request that is wrong in one of several ways, chosen by {@code i}; the rest random. */
  private static byte[] malformed(Random r, int i) {
    String path = pick(r, ALL_PATHS);
    String bodyPath = pick(r, BODY_PATHS);
    String body = badBody(r);
    return switch (i % 6) {
      // a broken request line
      case 0 ->
        (pick(
                    r,
                    List.of(
                        "GET " + path + "\r\n",
                        "POST " + path + " HTTP/0.9\r\n",
                        "GET " + path + " HTTP/2.0\r\n",
                        "GET " + path + " HTTP/1.1x\r\n",
                        "G ET " + path + " HTTP/1.1\r\n",
                        "GET  " + path + "  HTTP/1.1\r\n",
                        "GET " + path + " HTTP/1.1 extra\r\n",
                        " GET " + path + " HTTP/1.1\r\n",
                        "GET\t" + path + "\tHTTP/1.1\r\n",
                        "GET " + path + "\u0000 HTTP/1.1\r\n",
                        "\u0016\u0003\u0001 HTTP/1.1\r\n",
                        "GET " + path + " FTP/1.1\r\n",
                        "GET " + path.replace("/", "\\") + " HTTP/1.1\r\n",
                        "GET " + path + " HTTP/1.1\n"))
                + "Host: 127.0.0.1\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
      // a path that names nothing, or names something in a forbidden way
      case 1 ->
        ("POST "
                + pick(
                    r,
                    List.of(
                        path + "/..",
                        "/v1/../v1/join",
                        "/%2e%2e/v1/renew",
                        path + "%00",
                        path + ";x=1",
                        "//v1/join",
                        "/v1//renew",
                        "/v1/join%2Fchallenge",
                        path + "/" + "a".repeat(9000),
                        "/v1/admin/../admin/bots",
                        "/v1/admin/bots/%2e%2e",
                        "/v1/%C0%AE%C0%AE/join",
                        "https://evil.example/v1/join",
                        "*",
                        path.toUpperCase(Locale.ROOT),
                        path + "\u00e9",
                        "/v1/admin/bots/" + "%ff".repeat(20)))
                + " HTTP/1.1\r\n"
                + "Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes(body).length + "\r\n\r\n" + body)
            .getBytes(StandardCharsets.UTF_8);
      // malformed or contradictory headers on a POST whose body is bad too
      case 2 -> {
        String b = body;
        String headers = pick(
            r,
            List.of(
                "Content-Length: 5\r\nContent-Length: 6\r\n",
                "Content-Length: -1\r\n",
                "Content-Length: 12a\r\n",
                "Content-Length: 99999999999999999999\r\n",
                "Transfer-Encoding: gzip\r\n",
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                "Content-Length " + bytes(b).length + "\r\n",
                "Content-Length: " + bytes(b).length + "\r\nX-Bad\u0001Header: v\r\n",
                "Content-Length: " + bytes(b).length + "\r\n folded: line\r\n",
                "Content-Length: " + bytes(b).length + "\r\nX-Long: " + "x".repeat(20_000) + "\r\n",
                "Content-Length: " + bytes(b).length + "\r\n: novalue\r\n",
                "Content-Length: " + bytes(b).length + "\r\nHost: second.example\r\n",
                "Content-Length: " + bytes(b).length + "\r\nContent-Type: text/html\r\n",
                "Content-Length: " + bytes(b).length + "\r\nExpect: 100-continue-ish\r\n"));
        yield ("POST " + bodyPath
                + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + headers
                + "\r\n" + b)
            .getBytes(StandardCharsets.ISO_8859_1);
      }
      // a well-formed request with a bad body
      case 3, 4 ->
        ("POST " + bodyPath
                + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + bytes(body).length + "\r\n\r\n" + body)
            .getBytes(StandardCharsets.UTF_8);
      // a chunked body that is bad, or badly chunked
      default -> {
        String chunked = pick(
            r,
            List.of(
                Integer.toHexString(bytes(body).length) + "\r\n" + body + "\r\n0\r\n\r\n",
                "zz\r\n{}\r\n0\r\n\r\n",
                "2\r\n{}\r\n0\r\nTrailer: x\u0001\r\n\r\n",
                "ffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
                "2;ext=" + "e".repeat(9000) + "\r\n{}\r\n0\r\n\r\n"));
        yield ("POST " + bodyPath
                + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunked)
            .getBytes(StandardCharsets.UTF_8);
      }
    };
  }

  /** JSON that no endpoint accepts: broken syntax, wrong shapes, or valid-looking objects with poisoned fields. */
  private static String badBody(Random r) {
    String junk = randomText(r, 1 + r.nextInt(40));
    return pick(
        r,
        List.of(
            "",
            "{",
            "}",
            "[]",
            "null",
            "true",
            "\"" + junk.replace("\"", "") + "\"",
            "{\"a\":",
            "{\"a\":1,}",
            "{'a':1}",
            "{\"a\":1}{\"b\":2}",
            "[".repeat(3000),
            "{\"generation\":1e999999}",
            "{\"generation\":-0,\"public_key\":[]}",
            "{\"join_method\":\"token\",\"token\":{},\"public_key\":1}",
            "{\"join_method\":\"\\ud800\",\"token\":\"t\",\"public_key\":\"p\"}",
            "{\"name\":\"a\\u0000b\",\"roles\":[1]}",
            "{\"kind\":\"ssh_host\",\"roles\":\"x\"}",
            "{\"kind\":\"ssh_host\",\"roles\":[\"x\"],\"ssh_public_key\":\"ssh-ed25519 AAAA\",\"target\":{\"host_names\":[\"a,b\"]}}",
            "{\"kind\":{\"$ref\":1}}",
            "{\"hostname\":\"" + "h".repeat(70_000) + "\"}",
            "\u0000\u0001\u0002",
            junk,
            "{\"metadata\":{\"name\":\"../../etc\"},\"kind\":\"role\"}",
            "{\"target\":\"bot\",\"value\":\"\",\"reason\":null}",
            "{\"public_key\":\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\"}"));
  }

  private static String randomText(Random r, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append((char) r.nextInt(r.nextBoolean() ? 0x80 : 0x3000));
    }
    return sb.toString();
  }

  /** Null if {@code answer} is a 4xx problem document, else what is wrong with it. */
  private static String check(String answer) {
    if (answer.isEmpty()) {
      return "no answer";
    }
    if (!answer.matches("(?s)HTTP/1\\.[01] 4\\d\\d .*")) {
      return "not a 4xx";
    }
    int split = answer.indexOf("\r\n\r\n");
    String head = answer.substring(0, split).toLowerCase(Locale.ROOT);
    if (!head.contains("content-type: application/problem+json")) {
      return "not a problem document";
    }
    try {
      JsonNode json = Protocol.reader().readTree(answer.substring(split + 4));
      if (!CODES.contains(json.path("code").asText())) {
        return "unknown code " + json.path("code");
      }
      if (!answer.substring(9, 12).equals(json.path("status").asText())) {
        return "status in the document differs";
      }
    } catch (IOException e) {
      return "body is not JSON";
    }
    return null;
  }

  /** Sends {@code request} on a new connection and returns the first answer (head and body), or "" if there was none. */
  private static String send(Issuer issuer, SSLContext ctx, byte[] request) throws Exception {
    try (SSLSocket s =
        (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
      s.setSoTimeout(15_000);
      s.startHandshake();
      OutputStream out = s.getOutputStream();
      try {
        out.write(request);
        out.flush();
      } catch (IOException closedEarly) {
        // the issuer may answer and close before a long request is written; read what it said
      }
      InputStream in = s.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      try {
        while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
          int b = in.read();
          if (b == -1) {
            return head.toString(StandardCharsets.ISO_8859_1);
          }
          head.write(b);
        }
      } catch (IOException reset) {
        return head.toString(StandardCharsets.ISO_8859_1);
      }
      String h = head.toString(StandardCharsets.ISO_8859_1);
      int length = 0;
      for (String line : h.split("\r\n")) {
        if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        }
      }
      return h + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }
  }

  private static SSLContext context(Issuer issuer, PrivateKey key, X509Certificate[] chain) {
    return ProtocolClient.sslContext(issuer.authorityCertificate(), key, chain);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static <T> T pick(Random r, List<T> from) {
    return from.get(r.nextInt(from.size()));
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return List.copyOf(out);
  }

  private static String printable(byte[] b) {
    String s = new String(b, 0, Math.min(b.length, 160), StandardCharsets.ISO_8859_1);
    return s.replaceAll("[\\p{Cntrl}]", "?") + (b.length > 160 ? "…(" + b.length + " bytes)" : "");
  }
}
