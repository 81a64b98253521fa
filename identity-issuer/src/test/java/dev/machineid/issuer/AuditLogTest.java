package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.issuer.store.JdbcStore;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.ProtocolClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The audit log as an attacker and an operator see it: floods, listings and hostile text. */
class AuditLogTest {
  private final MutableClock clock = MutableClock.stopped();
  private Issuer issuer;

  @AfterEach
  void stop() {
    if (issuer != null) {
      issuer.close();
    }
  }

  private static boolean hasControl(String s) {
    return s != null && s.chars().anyMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f));
  }

  @Test
  void unauthenticatedRefusalsDoNotGrowTheAuditLog() {
    issuer = Issuer.builder().clock(clock).build().start();
    issuer.bots().create("web", List.of(), java.util.Map.of());
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply joined = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null);
    assertThat(joined.status()).as(joined.toString()).isEqualTo(200);
    IdentityResponse credentials = joined.as(IdentityResponse.class);

    // without a client certificate the edge refuses before anything is read: nothing is audited
    ProtocolClient anonymous =
        ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    int before = issuer.audit().events().size();
    for (int i = 0; i < 100; i++) {
      assertThat(anonymous.renew(1, ProtocolClient.ec(), null).code()).isEqualTo("unauthenticated");
      assertThat(anonymous.post("/v1/heartbeat", HEARTBEAT).code()).isEqualTo("unauthenticated");
    }
    assertThat(issuer.audit().events()).hasSize(before);

    // with a certificate the issuer signed but no longer knows (its bot was deleted): one sample
    // per
    // type and window, not a row per refusal
    issuer.bots().delete("web");
    ProtocolClient orphan =
        ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, credentials);
    before = issuer.audit().events().size();
    for (int i = 0; i < 100; i++) {
      assertThat(
              orphan.renew(credentials.generation(), ProtocolClient.ec(), null).code())
          .isEqualTo("unauthenticated");
      assertThat(orphan.post("/v1/heartbeat", HEARTBEAT).code()).isEqualTo("unauthenticated");
    }
    List<AuditEvent> written =
        issuer.audit().events().subList(before, issuer.audit().events().size());
    assertThat(written).extracting(AuditEvent::type).containsExactly("renew", "heartbeat");
    assertThat(written).allSatisfy(e -> assertThat(e.detail())
        .containsEntry("sampled", "true")
        .containsEntry("suppressed_before", "0"));

    clock.advance(Duration.ofSeconds(61));
    orphan.renew(credentials.generation(), ProtocolClient.ec(), null);
    AuditEvent next = issuer.audit().events().get(issuer.audit().events().size() - 1);
    assertThat(next.type()).isEqualTo("renew");
    assertThat(next.detail()).containsEntry("suppressed_before", "99");
    assertThat(issuer.audit().verify().intact()).isTrue();
  }

  private static final String HEARTBEAT =
      "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":1,\"one_shot\":false}";

  @Test
  void auditListingIsPagedInTheDatabase() throws Exception {
    String url = "jdbc:h2:mem:paged-" + UUID.randomUUID()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1";
    issuer = Issuer.builder()
        .clock(clock)
        .store(JdbcStore.builder(url).build())
        .build()
        .start();
    KeyPair keys = ProtocolClient.ec();
    X509Certificate cert =
        issuer.admins().issueCertificate("ops", keys.getPublic(), Duration.ofHours(1));
    ProtocolClient admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), keys.getPrivate(), new X509Certificate[] {cert
        });
    int rows = 50_000;
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      long head;
      try (ResultSet rs = s.executeQuery("SELECT seq FROM audit_heads WHERE shard = 0")) {
        rs.next();
        head = rs.getLong(1);
      }
      s.execute(
          "INSERT INTO audit_events (seq, id, event_time, type, bot, instance_id, outcome, detail, prev_hash, hash) "
              + "SELECT \"X\" + " + head
              + ", RANDOM_UUID(), CURRENT_TIMESTAMP, 'join', 'web', NULL, 'success', '{}', REPEAT('0', 64), REPEAT('0', 64) "
              + "FROM SYSTEM_RANGE(1, " + rows + ")");
      s.execute("UPDATE audit_heads SET seq = " + (head + rows) + " WHERE shard = 0");
      s.execute("SET QUERY_STATISTICS TRUE");
      s.execute("SET QUERY_STATISTICS_MAX_ENTRIES 1000");

      ProtocolClient.Reply r = admin.get("/v1/admin/audit?limit=1&type=join");
      assertThat(r.status()).as(r.toString()).isEqualTo(200);
      assertThat(r.json()).hasSize(1);

      long read = 0;
      try (ResultSet rs = s.executeQuery(
          "SELECT MAX(MAX_ROW_COUNT) FROM INFORMATION_SCHEMA.QUERY_STATISTICS WHERE LOWER(SQL_STATEMENT) LIKE '%from audit_events%'")) {
        rs.next();
        read = rs.getLong(1);
      }
      assertThat(read).as("rows the listing read from audit_events").isBetween(1L, 1L);
    }
  }

  @Test
  void botSuppliedTextIsEscapedInEverySink() throws Exception {
    issuer = Issuer.builder().clock(clock).build().start();
    issuer.bots().create("web");
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply joined = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null);
    assertThat(joined.status()).as(joined.toString()).isEqualTo(200);
    IdentityResponse credentials = joined.as(IdentityResponse.class);
    ProtocolClient bot =
        ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, credentials);
    String forged =
        "x\r\n[main] WARN dev.machineid.issuer forged line \u001b[31mred\u001b[0m \u202etxt";

    PrintStream err = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    ProtocolClient.Reply badKey;
    ProtocolClient.Reply badHost;
    ProtocolClient.Reply badOutput;
    try {
      ObjectNode hb = ProtocolClient.object()
          .put("hostname", "h")
          .put("version", "1")
          .put("uptime_seconds", 1)
          .put("one_shot", false);
      hb.putObject("outputs").put(forged, 5);
      badKey = bot.post("/v1/heartbeat", hb);
      badHost = bot.post(
          "/v1/heartbeat",
          ProtocolClient.object()
              .put("hostname", forged)
              .put("version", "1")
              .put("uptime_seconds", 1)
              .put("one_shot", false));
      ObjectNode hb2 = ProtocolClient.object()
          .put("hostname", "h")
          .put("version", "1")
          .put("uptime_seconds", 1)
          .put("one_shot", false);
      hb2.putObject("outputs").put(forged, "ok");
      badOutput = bot.post("/v1/heartbeat", hb2);
    } finally {
      System.setErr(err);
    }
    // the edge refuses control characters, saying so with the text escaped
    for (ProtocolClient.Reply r : List.of(badKey, badHost, badOutput)) {
      assertThat(r.status()).as(r.toString()).isEqualTo(400);
      assertThat(r.code()).isEqualTo("malformed_request");
      assertThat(hasControl(r.json().path("detail").asText())).as(r.toString()).isFalse();
    }
    assertThat(issuer.instances().find(credentials.instanceId()).orElseThrow().latestHeartbeat())
        .isNull();
    // the issuer's log: the refusals are there, but no forged line and no escape sequence
    String log = captured.toString(StandardCharsets.UTF_8);
    assertThat(log).contains("heartbeat refused");
    assertThat(log.lines()).noneMatch(l -> l.startsWith("[main] WARN dev.machineid.issuer forged"));
    assertThat(log).doesNotContain("\u001b").doesNotContain("\u202e");
    // the audit records
    List<AuditEvent> refusals = issuer.audit().events().stream()
        .filter(e -> e.type().equals("heartbeat"))
        .toList();
    assertThat(refusals).hasSize(3);
    for (AuditEvent e : refusals) {
      e.detail().forEach((k, v) -> {
        assertThat(hasControl(k) || hasControl(v)).as(k + "=" + v).isFalse();
        assertThat(v).doesNotContain("\u202e");
      });
    }
    assertThat(refusals.get(0).detail().get("reason")).contains("\\x0d\\x0a[main] WARN");
    // and the admin API's listing, which the CLI prints
    KeyPair adminKeys = ProtocolClient.ec();
    X509Certificate cert =
        issuer.admins().issueCertificate("ops", adminKeys.getPublic(), Duration.ofHours(1));
    JsonNode listed = ProtocolClient.mtls(
            issuer.url(),
            issuer.authorityCertificate(),
            adminKeys.getPrivate(),
            new X509Certificate[] {cert})
        .get("/v1/admin/audit?type=heartbeat")
        .json();
    assertThat(listed.toString())
        .doesNotContain("\\r")
        .doesNotContain("\\u001B")
        .doesNotContain("\\u001b");
  }

  @Test
  void aPruneOfAChainThatDoesNotVerifyIsRefusedAsAProblemNamingTheBrokenRowAndRemovesNothing()
      throws Exception {
    String url = "jdbc:h2:mem:forged-" + UUID.randomUUID()
        + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH;DB_CLOSE_DELAY=-1";
    issuer = Issuer.builder()
        .clock(clock)
        .store(JdbcStore.builder(url).auditShards(1).build())
        .build()
        .start();
    for (int i = 0; i < 4; i++) {
      issuer.bots().create("old-" + i);
    }
    clock.advance(Duration.ofDays(2));
    KeyPair keys = ProtocolClient.ec();
    X509Certificate current =
        issuer.admins().issueCertificate("ops", keys.getPublic(), Duration.ofHours(1));
    ProtocolClient admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), keys.getPrivate(), new X509Certificate[] {
          current
        });
    for (int i = 0; i < 6; i++) {
      issuer.bots().create("new-" + i);
    }
    ProtocolClient.Reply pruned = admin.post("/v1/admin/audit/prune", "{\"before\":\"24h\"}");
    assertThat(pruned.status()).as(pruned.toString()).isEqualTo(200);
    assertThat(pruned.json().get("removed").asInt()).isPositive();

    long forged;
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement()) {
      // the anchor moved by hand past rows it hides, and those rows deleted
      String hash;
      try (ResultSet rs = s.executeQuery(
          "SELECT seq, hash FROM audit_events WHERE shard = 0 ORDER BY seq LIMIT 1 OFFSET 2")) {
        assertThat(rs.next()).isTrue();
        forged = rs.getLong(1);
        hash = rs.getString(2);
      }
      s.execute(
          "UPDATE audit_anchors SET seq = " + forged + ", hash = '" + hash + "' WHERE shard = 0");
      s.execute("DELETE FROM audit_events WHERE shard = 0 AND seq <= " + forged);
    }
    assertThat(issuer.audit().verify().intact()).isFalse();
    long rows = rowsOf(url);

    ProtocolClient.Reply refused = admin.post("/v1/admin/audit/prune", "{\"before\":\"1s\"}");
    assertThat(refused.status()).as(refused.toString()).isEqualTo(400);
    assertThat(refused.code()).isEqualTo("malformed_request");
    assertThat(refused.json().path("detail").asText())
        .contains(
            "nothing was removed",
            "the anchor of shard 0 (row " + forged + ") was not set by a recorded prune");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> issuer.audit().prune(clock.instant()))
        .isInstanceOfSatisfying(AuditRetentionRefusedException.class, e -> {
          assertThat(e.brokenSequence()).isEqualTo(forged);
          assertThat(e.code()).isEqualTo(dev.machineid.core.ErrorCode.MALFORMED_REQUEST);
        });
    assertThat(rowsOf(url)).as("nothing was removed").isEqualTo(rows);
  }

  private static long rowsOf(String url) throws Exception {
    try (Connection c = DriverManager.getConnection(url);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM audit_events WHERE shard = 0")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
