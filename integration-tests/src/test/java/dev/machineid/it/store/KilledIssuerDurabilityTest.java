package dev.machineid.it.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Token;
import dev.machineid.testkit.PostgresServer;
import dev.machineid.testkit.ProtocolClient;
import dev.machineid.testkit.ProtocolClient.Reply;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An issuer process killed with SIGKILL during a stream of joins and renewals loses nothing it
 * acknowledged: every bot, instance, token consumption and audit event a client was told about is
 * in PostgreSQL after a restart, and the audit chain verifies.
 */
class KilledIssuerDurabilityTest {
  /** A join or renewal the issuer answered with 200. */
  record Acknowledged(String tokenId, String instanceId, long generation) {}

  @Test
  void anIssuerKilledDuringJoinsAndRenewalsLosesNothingItAcknowledged(@TempDir Path dir)
      throws Exception {
    try (PostgresServer pg = PostgresServer.builder().start()) {
      String url = pg.createDatabase("durability");
      Path keys = dir.resolve("keys");
      int port = freePort();
      List<String> tokens = new ArrayList<>();
      X509Certificate authority;
      // An admin replica in this JVM (never started) writes bots and tokens to the shared database.
      try (IssuerStore adminStore = IssuerStore.jdbc(url, pg.user(), null);
          Issuer admin = Issuer.builder().keysDirectory(keys).store(adminStore).build()) {
        admin.bots().create("durable");
        for (int i = 0; i < 400; i++) {
          tokens.add(admin.tokens().create("durable", Duration.ofMinutes(10)));
        }
        authority = admin.authorityCertificate();
      }
      URI base = URI.create("https://127.0.0.1:" + port);

      Process first = startIssuer(port, url, keys, dir.resolve("first.log"));
      ConcurrentLinkedQueue<Acknowledged> acknowledged = new ConcurrentLinkedQueue<>();
      AtomicBoolean stop = new AtomicBoolean();
      // set just before the kill: a failure seen while it is false happened on a live issuer
      AtomicBoolean killed = new AtomicBoolean();
      List<String> failuresBeforeTheKill = new java.util.concurrent.CopyOnWriteArrayList<>();
      AtomicInteger next = new AtomicInteger();
      ExecutorService clients = Executors.newFixedThreadPool(4);
      try {
        for (int t = 0; t < 4; t++) {
          clients.submit(() -> {
            ProtocolClient anonymous = ProtocolClient.anonymous(base, authority);
            while (!stop.get()) {
              int i = next.getAndIncrement();
              if (i >= tokens.size()) {
                return null;
              }
              String token = tokens.get(i);
              try {
                KeyPair k1 = ProtocolClient.ec();
                Reply joined = anonymous.join(token, k1, null);
                if (joined.status() != 200) {
                  if (!killed.get()) {
                    failuresBeforeTheKill.add("join " + joined);
                  }
                  continue;
                }
                IdentityResponse c = joined.as(IdentityResponse.class);
                acknowledged.add(new Acknowledged(tokenId(token), c.instanceId(), 1));
                Reply renewed =
                    ProtocolClient.as(base, authority, k1, c).renew(1, ProtocolClient.ec(), null);
                if (renewed.status() == 200) {
                  acknowledged.add(new Acknowledged(
                      tokenId(token),
                      c.instanceId(),
                      renewed.as(IdentityResponse.class).generation()));
                } else if (!killed.get()) {
                  failuresBeforeTheKill.add("renewal " + renewed);
                }
              } catch (AssertionError | RuntimeException e) {
                // after the kill the issuer died under this request, and nothing was acknowledged;
                // before it, this is a failure of a live issuer
                if (!killed.get()) {
                  failuresBeforeTheKill.add(e.toString());
                }
              }
            }
            return null;
          });
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (renewals(acknowledged) < 20 && System.nanoTime() < deadline) {
          Thread.sleep(10); // polling a counter with a deadline
        }
        assertThat(acknowledged)
            .as("joins and renewals acknowledged before the kill")
            .hasSizeGreaterThanOrEqualTo(40);
        assertThat(renewals(acknowledged))
            .as("renewals acknowledged before the kill")
            .isGreaterThanOrEqualTo(20);
        killed.set(true);
        first.destroyForcibly(); // SIGKILL on Linux: no shutdown hooks, no graceful close
        assertThat(first.waitFor(20, TimeUnit.SECONDS)).isTrue();
        stop.set(true);
      } finally {
        clients.shutdown();
        assertThat(clients.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        first.destroyForcibly();
      }
      assertThat(failuresBeforeTheKill)
          .as("calls that failed while the issuer was alive")
          .isEmpty();

      Process second = startIssuer(port, url, keys, dir.resolve("second.log"));
      try (IssuerStore check = IssuerStore.jdbc(url, pg.user(), null)) {
        assertThat(check.findBot("durable")).isPresent();
        Set<String> consumed = check.tokens().stream()
            .filter(Token::consumed)
            .map(Token::id)
            .collect(Collectors.toSet());
        List<AuditEvent> audit = check.auditEvents();
        Set<String> joinEvents = audit.stream()
            .filter(e -> e.type().equals("join") && !e.failed())
            .map(AuditEvent::instanceId)
            .collect(Collectors.toSet());
        Set<String> renewEvents = audit.stream()
            .filter(e -> e.type().equals("renew") && !e.failed())
            .map(e -> e.instanceId() + "@" + e.detail().get("generation"))
            .collect(Collectors.toSet());
        for (Acknowledged ack : acknowledged) {
          var row = check.findInstance(ack.instanceId());
          assertThat(row).as("instance %s", ack.instanceId()).isPresent();
          assertThat(row.get().generation())
              .as("generation of %s", ack.instanceId())
              .isGreaterThanOrEqualTo(ack.generation());
          assertThat(consumed).as("token of %s consumed", ack.instanceId()).contains(ack.tokenId());
          if (ack.generation() == 1) {
            assertThat(joinEvents)
                .as("join audited for %s", ack.instanceId())
                .contains(ack.instanceId());
          } else {
            assertThat(renewEvents)
                .as("renewal audited for %s", ack.instanceId())
                .contains(ack.instanceId() + "@" + ack.generation());
          }
        }
        assertThat(check.verifyAudit().intact())
            .as(check.verifyAudit().toString())
            .isTrue();
      }
      // The restarted issuer serves from the same state: an unused token still joins.
      Reply after = ProtocolClient.anonymous(base, authority)
          .join(tokens.get(tokens.size() - 1), ProtocolClient.ec(), null);
      assertThat(after.status()).as(after.toString()).isIn(200, 403);
      second.destroyForcibly();
      second.waitFor(20, TimeUnit.SECONDS);
    }
  }

  private static long renewals(java.util.Collection<Acknowledged> acknowledged) {
    return acknowledged.stream().filter(a -> a.generation() > 1).count();
  }

  private static Process startIssuer(int port, String url, Path keys, Path log)
      throws IOException, InterruptedException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(
            java,
            "-cp",
            System.getProperty("java.class.path"),
            IssuerMain.class.getName(),
            Integer.toString(port),
            url,
            keys.toString())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.exists(log) && Files.readString(log).contains("READY")) {
        return p;
      }
      if (!p.isAlive()) {
        throw new AssertionError(
            "the issuer process exited (" + p.exitValue() + "):\n" + Files.readString(log));
      }
      Thread.sleep(50);
    }
    p.destroyForcibly();
    throw new AssertionError(
        "the issuer process did not print READY within 60 s:\n" + Files.readString(log));
  }

  private static String tokenId(String secret) {
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256")
              .digest(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
