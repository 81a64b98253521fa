package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.testkit.ProtocolClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The issuer's HTTP edge: what an unauthenticated or misbehaving client can make it do. */
class EdgeTest {
  private static final List<String> BOT_CALLS =
      List.of("/v1/renew", "/v1/certificates", "/v1/heartbeat");

  /** Security invariant 16. */
  @Test
  void unauthenticatedClientsCannotExhaustTheIssuer() throws Exception {
    try (Issuer issuer = Issuer.builder()
        .rateLimit(0.01, 2)
        .requestTimeout(Duration.ofSeconds(2))
        .idleTimeout(Duration.ofSeconds(30))
        .build()
        .start()) {
      // bodies are read only after the client certificate is checked: the answer comes before the
      // body
      try (SSLSocket s = tls(issuer)) {
        s.getOutputStream()
            .write(head("POST", "/v1/renew", 4096).getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 401");
        // whole requests have a time limit: the unread body it was told not to send is not waited
        // for forever
        assertThat(closedWithin(s, Duration.ofSeconds(10))).isTrue();
      }
      // every endpoint is rate-limited: the burst of 2 is spent, and even the bot-only call is
      // refused
      try (SSLSocket s = tls(issuer)) {
        assertThat(exchange(s, head("GET", "/metrics", 0))).startsWith("HTTP/1.1 200");
      }
      try (SSLSocket s = tls(issuer)) {
        assertThat(exchange(s, head("POST", "/v1/heartbeat", 2) + "{}")).startsWith("HTTP/1.1 429");
      }
    }
  }

  @Test
  void anUnauthenticatedBodyIsNeverRead() throws Exception {
    try (Issuer issuer =
        Issuer.builder().requestTimeout(Duration.ofSeconds(30)).build().start()) {
      for (String path :
          List.of("/v1/renew", "/v1/certificates", "/v1/heartbeat", "/v1/admin/bots")) {
        try (SSLSocket s = tls(issuer)) {
          // the head promises a body that never comes: the issuer must answer without waiting for
          // it
          s.setSoTimeout(10_000);
          s.getOutputStream().write(head("POST", path, 1000).getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
          String answer = readHead(s.getInputStream());
          assertThat(answer)
              .as(path)
              .startsWith("HTTP/1.1 401")
              .containsIgnoringCase("connection: close");
        }
      }
    }
  }

  @Test
  void slowClientsDoNotStarveRenewals() throws Exception {
    // more trickling connections than the issuer has threads (64), and a time limit longer than
    // the renewal's own timeout: if a trickler held a thread, the renewal would never run
    int slow = 80;
    try (Issuer issuer = Issuer.builder()
        .requestTimeout(Duration.ofSeconds(60))
        .idleTimeout(Duration.ofSeconds(60))
        .build()
        .start()) {
      issuer.bots().create("web");
      KeyPair keys = ProtocolClient.ec();
      IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null)
          .as(IdentityResponse.class);
      ProtocolClient bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c);
      List<SSLSocket> tricklers = new ArrayList<>();
      try {
        for (int i = 0; i < slow; i++) {
          SSLSocket s = tls(issuer);
          tricklers.add(s);
          s.getOutputStream()
              .write((head("POST", "/v1/renew", 500) + "{").getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
        }
        // every trickler is answered at once, without its body
        for (SSLSocket s : tricklers) {
          s.setSoTimeout(20_000);
          assertThat(readHead(s.getInputStream())).startsWith("HTTP/1.1 401");
        }
        // one more byte each, as a trickler does, while the legitimate renewal runs
        for (SSLSocket s : tricklers) {
          try {
            s.getOutputStream().write('"');
            s.getOutputStream().flush();
          } catch (IOException closed) {
            // cut off: also fine
          }
        }
        ProtocolClient.Reply renewed = bot.renew(1, ProtocolClient.ec(), null);
        assertThat(renewed.status()).as(renewed.toString()).isEqualTo(200);
        assertThat(renewed.as(IdentityResponse.class).generation()).isEqualTo(2);
      } finally {
        for (SSLSocket s : tricklers) {
          s.close();
        }
      }
    }
  }

  @Test
  void tricklingJoinBodiesHoldNoThread() throws Exception {
    // /v1/join must read bodies from anyone: 80 clients (more than the issuer's 64 threads) trickle
    // one
    int slow = 80;
    try (Issuer issuer = Issuer.builder()
        .requestTimeout(Duration.ofSeconds(60))
        .idleTimeout(Duration.ofSeconds(60))
        .build()
        .start()) {
      issuer.bots().create("web");
      KeyPair keys = ProtocolClient.ec();
      IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null)
          .as(IdentityResponse.class);
      ProtocolClient bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c);
      List<SSLSocket> tricklers = new ArrayList<>();
      try {
        for (int i = 0; i < slow; i++) {
          SSLSocket s = tls(issuer);
          tricklers.add(s);
          s.getOutputStream()
              .write((head("POST", "/v1/join", 500) + "{\"join_method\":")
                  .getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
        }
        ProtocolClient.Reply renewed = bot.renew(1, ProtocolClient.ec(), null);
        assertThat(renewed.status()).as(renewed.toString()).isEqualTo(200);
        // and a trickler that finishes its body in the end gets its answer
        SSLSocket last = tricklers.get(0);
        last.getOutputStream()
            .write(("\"token\"}" + " ".repeat(500 - 23)).getBytes(StandardCharsets.US_ASCII));
        last.getOutputStream().flush();
        assertThat(readHead(last.getInputStream())).startsWith("HTTP/1.1 4");
      } finally {
        for (SSLSocket s : tricklers) {
          s.close();
        }
      }
    }
  }

  @Test
  void everyEndpointIsRateLimited() throws Exception {
    // behind a balancer, each endpoint is tried from its own client address with a burst of 1
    List<String[]> calls = List.of(
        new String[] {"GET", "/v1/authority"},
        new String[] {"POST", "/v1/join/challenge"},
        new String[] {"POST", "/v1/join"},
        new String[] {"POST", "/v1/renew"},
        new String[] {"POST", "/v1/certificates"},
        new String[] {"POST", "/v1/heartbeat"},
        new String[] {"GET", "/metrics"},
        new String[] {"GET", "/v1/admin/status"},
        new String[] {"POST", "/v1/admin/bots"},
        new String[] {"GET", "/no/such/path"});
    try (Issuer issuer = Issuer.builder()
        .proxyProtocol(List.of("127.0.0.1"))
        .rateLimit(0.01, 1)
        .build()
        .start()) {
      int n = 1;
      for (String[] call : calls) {
        String client = "198.51.100." + n++;
        String request = head(call[0], call[1], call[0].equals("POST") ? 2 : 0)
            + (call[0].equals("POST") ? "{}" : "");
        try (SSLSocket s = proxied(issuer, "PROXY TCP4 " + client + " 127.0.0.1 40000 443")) {
          assertThat(exchange(s, request)).as(call[1]).doesNotStartWith("HTTP/1.1 429");
        }
        try (SSLSocket s = proxied(issuer, "PROXY TCP4 " + client + " 127.0.0.1 40001 443")) {
          String second = exchange(s, request);
          assertThat(second)
              .as(call[1])
              .startsWith("HTTP/1.1 429")
              .containsIgnoringCase("retry-after:");
        }
      }
    }
  }

  @Test
  void anAbortedBodyIsLoggedAtDebugAndCounted() throws Exception {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try (Issuer issuer = Issuer.builder().build().start()) {
      System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
      try (SSLSocket s = tls(issuer)) {
        // half of a join body, then the client goes away
        s.getOutputStream()
            .write((head("POST", "/v1/join", 200) + "{\"join_method\":\"token\",")
                .getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
      }
      String metrics = "";
      long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      while (System.nanoTime() < deadline
          && !metrics.contains("machineid_issuer_requests_aborted_total 1.0")) {
        metrics = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
            .get("/metrics")
            .body();
      }
      assertThat(metrics)
          .contains("machineid_issuer_requests_aborted_total 1.0")
          .contains("code=\"aborted\"")
          .doesNotContain("code=\"internal\"");
    } finally {
      System.setErr(original);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    assertThat(log)
        .contains("DEBUG dev.machineid.issuer.internal.http.ApiHandler")
        .contains("/v1/join")
        .contains("the request body ended early");
    assertThat(log)
        .doesNotContain("ERROR")
        .doesNotContain("unexpected failure")
        .doesNotContain("\tat ");
  }

  @Test
  void aPostWithoutJsonContentTypeIsRefusedWith415() throws Exception {
    List<String> posts = List.of(
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
        "/v1/admin/renew",
        "/v1/admin/audit/verify");
    List<String> types = List.of(
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=iso-8859-1",
        "application/merge-patch+json",
        "application/jsonx",
        "multipart/form-data; boundary=x");
    try (Issuer issuer = Issuer.builder().build().start()) {
      issuer.bots().create("web");
      KeyPair keys = ProtocolClient.ec();
      IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null)
          .as(IdentityResponse.class);
      ProtocolClient bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c);
      String token = issuer.tokens().create("web", Duration.ofMinutes(5));
      List<Bot> bots = issuer.bots().list();
      List<Token> tokens = issuer.tokens().list();
      List<BotInstance> instances = issuer.instances().list("web");
      for (String path : posts) {
        for (String type : types) {
          String body = "{\"join_method\":\"token\",\"token\":\"" + token
              + "\",\"generation\":1,\"public_key\":\"x\",\"name\":\"evil\"}";
          ProtocolClient.Reply r = bot.send(
              "POST",
              path,
              type.isEmpty() ? null : type,
              HttpRequest.BodyPublishers.ofString(body));
          assertThat(r.status()).as(path + " " + type + ": " + r).isEqualTo(415);
          assertThat(r.contentType()).startsWith(Protocol.PROBLEM_JSON);
          assertThat(r.code()).isEqualTo("unsupported_media_type");
        }
      }
      assertThat(issuer.bots().list()).isEqualTo(bots);
      assertThat(issuer.tokens().list()).isEqualTo(tokens);
      assertThat(issuer.instances().list("web")).isEqualTo(instances);
      // and the same body with the right type gets past the check
      assertThat(bot.send(
                  "POST",
                  "/v1/heartbeat",
                  "application/json; charset=UTF-8",
                  HttpRequest.BodyPublishers.ofString(
                      "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":1,\"one_shot\":false}"))
              .status())
          .isEqualTo(204);
    }
  }

  @Test
  void http09RequestLineGetsA4xx() throws Exception {
    try (Issuer issuer = Issuer.builder().build().start()) {
      for (String line : List.of(
          "GET /v1/authority\r\n\r\n",
          "GET /v1/authority HTTP/0.9\r\n\r\n",
          "GET /v1/authority HTTP/2.0\r\n\r\n",
          "GET /v1/authority HTTP/1.2\r\nHost: x\r\n\r\n")) {
        try (SSLSocket s = tls(issuer)) {
          String answer = exchange(s, line);
          assertThat(answer)
              .as(line)
              .matches("(?s)HTTP/1\\.1 4\\d\\d .*")
              .containsIgnoringCase("content-type: application/problem+json");
        }
      }
    }
  }

  @Test
  void sshHostNamesWithSeparatorsGetA4xx() {
    try (Issuer issuer = Issuer.builder().build().start()) {
      issuer
          .roles()
          .create(new Role(
              "hosts",
              List.of(),
              List.of(),
              List.of(),
              List.of(),
              List.of("*.db.internal"),
              List.of(),
              false,
              null,
              null));
      issuer.bots().create("web", List.of("hosts"), Map.of());
      KeyPair keys = ProtocolClient.ec();
      IdentityResponse c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null)
          .as(IdentityResponse.class);
      ProtocolClient bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c);
      String sshKey = SshPublicKeys.authorizedKey(ProtocolClient.ed25519().getPublic());
      List<AuditEvent> before =
          issuer.audit().events().stream().filter(e -> !e.failed()).toList();
      for (String host : List.of(
          "a,b.db.internal",
          "a b.db.internal",
          "a\nb.db.internal",
          "a\u0000.db.internal",
          "a\tb.db.internal",
          "a\u007f.db.internal",
          "a;b.db.internal",
          "a\u2028.db.internal",
          "@cert-authority.db.internal")) {
        ObjectNode req = ProtocolClient.object()
            .put("kind", "ssh_host")
            .put("ssh_public_key", sshKey)
            .put("ttl", "10m");
        req.putArray("roles").add("hosts");
        req.putObject("target").putArray("host_names").add(host);
        ProtocolClient.Reply r = bot.post("/v1/certificates", req);
        assertThat(r.status()).as(host + ": " + r).isBetween(400, 499);
        assertThat(r.contentType()).startsWith(Protocol.PROBLEM_JSON);
      }
      assertThat(issuer.audit().events().stream().filter(e -> !e.failed()).toList())
          .isEqualTo(before);
      // a plain host name under the glob is still signed
      ObjectNode ok = ProtocolClient.object()
          .put("kind", "ssh_host")
          .put("ssh_public_key", sshKey)
          .put("ttl", "10m");
      ok.putArray("roles").add("hosts");
      ok.putObject("target").putArray("host_names").add("pg-1.db.internal");
      assertThat(bot.post("/v1/certificates", ok).status()).isEqualTo(200);
    }
  }

  @Test
  void aKeysDirectoryWritableByOthersIsRefused(@TempDir Path dir) throws Exception {
    Path keys = Files.createDirectory(
        dir.resolve("keys"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rwxrwxrwx"));
    assertThatThrownBy(() -> Issuer.builder().keysDirectory(keys).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(keys.toAbsolutePath().toString())
        .hasMessageContaining("writable by other users")
        .hasMessageContaining("chmod go-w " + keys.toAbsolutePath());
    // nothing was written into it
    try (var listing = Files.list(keys)) {
      assertThat(listing).isEmpty();
    }
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rwxrwx---"));
    assertThatThrownBy(() -> Issuer.builder().keysDirectory(keys).build())
        .hasMessageContaining("writable by its group")
        .hasMessageContaining("chmod go-w");
    Files.setPosixFilePermissions(keys, PosixFilePermissions.fromString("rwx------"));
    var nobody =
        keys.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    var me = Files.getOwner(keys);
    Files.setOwner(keys, nobody);
    try {
      assertThatThrownBy(() -> Issuer.builder().keysDirectory(keys).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("belongs to user 'nobody'")
          .hasMessageContaining(
              "chown " + System.getProperty("user.name") + " " + keys.toAbsolutePath());
    } finally {
      Files.setOwner(keys, me);
    }
    // owned by the user running the issuer and 0700: accepted
    try (Issuer issuer = Issuer.builder().keysDirectory(keys).build()) {
      assertThat(issuer.caPin()).isNotNull();
    }
  }

  @Test
  void aDirectClientCannotSendAProxyHeader() throws Exception {
    // the balancer is elsewhere: a client on 127.0.0.1 connects directly
    try (Issuer issuer = Issuer.builder()
        .proxyProtocol(List.of("10.0.0.0/8"))
        .rateLimit(0.01, 1)
        .build()
        .start()) {
      assertThatThrownBy(() -> {
            try (SSLSocket s = proxied(issuer, "PROXY TCP4 203.0.113.7 127.0.0.1 51234 443")) {
              exchange(s, head("GET", "/v1/authority", 0));
            }
          })
          .isInstanceOf(IOException.class);
      // without a header it is served, under its own address, whose burst of 1 it now spends
      try (SSLSocket s = tls(issuer)) {
        assertThat(exchange(s, head("GET", "/v1/authority", 0))).startsWith("HTTP/1.1 200");
      }
      try (SSLSocket s = tls(issuer)) {
        assertThat(exchange(s, head("GET", "/v1/authority", 0))).startsWith("HTTP/1.1 429");
      }
      // a v2 header is refused as well
      assertThatThrownBy(() -> {
            try (SSLSocket s = proxiedV2(issuer, new byte[] {(byte) 203, 0, 113, 8})) {
              exchange(s, head("GET", "/v1/authority", 0));
            }
          })
          .isInstanceOf(IOException.class);
    }
  }

  @Test
  void aProxyHeaderWithAnInvalidAddressIsRefused() throws Exception {
    try (Issuer issuer =
        Issuer.builder().proxyProtocol(List.of("127.0.0.1")).build().start()) {
      for (String header : List.of(
          "PROXY TCP4 localhost 127.0.0.1 51234 443",
          "PROXY TCP4 999.0.0.1 127.0.0.1 51234 443",
          "PROXY TCP4 evil-text 127.0.0.1 51234 443",
          "PROXY TCP4 203.0.113.7 127.0.0.1 x 443",
          "PROXY TCP6 not:an:address:at:all:zz 127.0.0.1 1 2")) {
        assertThatThrownBy(() -> {
              try (SSLSocket s = proxied(issuer, header)) {
                exchange(s, head("GET", "/v1/authority", 0));
              }
            })
            .as(header)
            .isInstanceOf(IOException.class);
      }
      // from the balancer, a connection without a header is refused too
      assertThatThrownBy(() -> {
            try (SSLSocket s = tls(issuer)) {
              exchange(s, head("GET", "/v1/authority", 0));
            }
          })
          .isInstanceOf(IOException.class);
      // and a valid one is served, the client recorded with the address it carries
      String join =
          "{\"join_method\":\"token\",\"token\":\"nope\",\"challenge\":\"x\",\"challenge_signature\":\"eA==\",\"proof\":{},\"public_key\":\"x\"}";
      try (SSLSocket s = proxied(issuer, "PROXY TCP4 203.0.113.9 127.0.0.1 51234 443")) {
        assertThat(exchange(s, head("POST", "/v1/join", join.length()) + join))
            .startsWith("HTTP/1.1 4");
      }
      assertThat(issuer.audit().events()).last().satisfies(e -> assertThat(
              e.detail().get("remote_address"))
          .isEqualTo("203.0.113.9:51234"));
    }
  }

  @Test
  void trustedProxiesMustBeAddressesOrNetworks() {
    for (List<String> bad : List.of(
        List.<String>of(),
        List.of("balancer.internal"),
        List.of("10.0.0.0/33"),
        List.of("10.0.0.0/x"),
        List.of(" "),
        List.of("fe80::1%eth0"))) {
      assertThatThrownBy(() -> Issuer.builder().proxyProtocol(bad))
          .as(bad.toString())
          .isInstanceOf(IllegalArgumentException.class);
    }
    Issuer.builder().proxyProtocol(List.of("10.0.0.0/8", "192.0.2.10", "fd00::/8", "::1"));
  }

  // ---------------------------------------------------------------- raw HTTP over TLS

  static SSLSocket tls(Issuer issuer) throws Exception {
    SSLSocket s = (SSLSocket)
        HardeningTest.trusting(issuer).getSocketFactory().createSocket("127.0.0.1", issuer.port());
    s.setSoTimeout(10_000);
    s.startHandshake();
    return s;
  }

  /** A TLS connection that starts with {@code header} (a PROXY protocol v1 line, without CRLF). */
  static SSLSocket proxied(Issuer issuer, String header) throws Exception {
    Socket raw = new Socket("127.0.0.1", issuer.port());
    raw.setSoTimeout(10_000);
    raw.getOutputStream().write((header + "\r\n").getBytes(StandardCharsets.US_ASCII));
    raw.getOutputStream().flush();
    SSLSocket s = (SSLSocket) HardeningTest.trusting(issuer)
        .getSocketFactory()
        .createSocket(raw, "127.0.0.1", issuer.port(), true);
    s.startHandshake();
    return s;
  }

  /** A TLS connection that starts with a PROXY protocol v2 header for a TCP over IPv4 client {@code source}. */
  static SSLSocket proxiedV2(Issuer issuer, byte[] source) throws Exception {
    Socket raw = new Socket("127.0.0.1", issuer.port());
    raw.setSoTimeout(10_000);
    ByteArrayOutputStream h = new ByteArrayOutputStream();
    h.write(new byte[] {
      0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C
    });
    h.write(source);
    h.write(new byte[] {127, 0, 0, 1, (byte) 0xC8, 0x00, 0x01, (byte) 0xBB});
    raw.getOutputStream().write(h.toByteArray());
    raw.getOutputStream().flush();
    SSLSocket s = (SSLSocket) HardeningTest.trusting(issuer)
        .getSocketFactory()
        .createSocket(raw, "127.0.0.1", issuer.port(), true);
    s.startHandshake();
    return s;
  }

  static String head(String method, String path, int contentLength) {
    return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + (method.equals("POST")
            ? "Content-Type: application/json\r\nContent-Length: " + contentLength + "\r\n"
            : "")
        + "\r\n";
  }

  static String exchange(SSLSocket s, String request) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(request.getBytes(StandardCharsets.UTF_8));
    out.flush();
    InputStream in = s.getInputStream();
    String head = readHead(in);
    int length = 0;
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        length = Integer.parseInt(line.substring(15).trim());
      }
    }
    return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
  }

  static String readHead(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c == -1) {
        throw new java.io.EOFException("connection closed after '" + head + "'");
      }
      head.append((char) c);
    }
    return head.toString();
  }

  /** True if the server closes {@code s} (end of stream or reset) within {@code limit}. */
  static boolean closedWithin(SSLSocket s, Duration limit) throws IOException {
    long end = System.nanoTime() + limit.toNanos();
    s.setSoTimeout(200);
    while (System.nanoTime() < end) {
      try {
        if (s.getInputStream().read() == -1) {
          return true;
        }
      } catch (java.net.SocketTimeoutException stillOpen) {
        // poll again until the deadline
      } catch (IOException closed) {
        return true;
      }
    }
    return false;
  }
}
