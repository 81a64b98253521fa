package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.okhttp.OkHttpTls;
import dev.machineid.testkit.MtlsServer;
import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * docs/architecture.md §8: with a few seconds of TTL, the identity rotates repeatedly while four threads call an
 * mTLS server through OkHttp; no call fails, and the server sees each new certificate shortly after
 * its rotation (no resumed session and no pooled connection keeps the old one).
 */
class RotationUnderLoadTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void rotationUnderLoadFailsNoCallAndServesEachNewCertificate(TestBot bot) throws Exception {
    // monotonic times of each certificate's publication (the listener runs once it is served)
    Map<String, Long> rotatedAt = new ConcurrentHashMap<>();
    List<String> serials = new CopyOnWriteArrayList<>();
    IdentityListener recorder = new IdentityListener() {
      @Override
      public void onIssued(Identity identity) {
        serials.add(identity.serialHex());
        rotatedAt.put(identity.serialHex(), System.nanoTime());
      }

      @Override
      public void onRenewed(Identity previous, Identity current) {
        serials.add(current.serialHex());
        rotatedAt.put(current.serialHex(), System.nanoTime());
      }
    };
    try (TestCertificateAuthority serverCa = TestCertificateAuthority.create("api server CA");
        MachineIdentity id = bot.identityBuilder()
            .credentialTtl(Duration.ofSeconds(6))
            .listener(recorder)
            .build()) {
      id.start();
      try (MtlsServer server = MtlsServer.builder()
          .serverCertificate(serverCa.issueServerCertificate(List.of("127.0.0.1")))
          .trustedClientCAs(() -> id.current().trustBundle())
          .start()) {
        OkHttpClient http = OkHttpTls.configure(
                new OkHttpClient.Builder(), id, serverCa.trustManager())
            .retryOnConnectionFailure(false)
            .build();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong ok = new AtomicLong();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        // every successful call: when it started (monotonic) and the client certificate the server
        // saw
        record Call(long startedAt, String served) {}
        List<Call> calls = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          workers.add(pool.submit(() -> {
            while (running.get()) {
              long started = System.nanoTime();
              try (Response r = http.newCall(
                      new Request.Builder().url(server.url().toString()).build())
                  .execute()) {
                if (r.code() == 200) {
                  ok.incrementAndGet();
                  // the server names the client certificate it saw on this connection
                  String served = Protocol.reader()
                      .readTree(r.body().string())
                      .get("serial")
                      .asText();
                  calls.add(new Call(started, served));
                } else {
                  failures.add(new AssertionError("HTTP " + r.code()));
                }
              } catch (Exception e) {
                failures.add(e);
              }
            }
          }));
        }
        try {
          // the first serial plus at least five rotations
          await().atMost(Duration.ofSeconds(40)).until(() -> serials.size() >= 6);
          String last = serials.get(serials.size() - 1);
          await().atMost(Duration.ofSeconds(3)).until(() -> server.seenSerials().containsKey(last));
        } finally {
          running.set(false);
          for (Future<?> w : workers) {
            w.get();
          }
          pool.shutdown();
          http.dispatcher().executorService().shutdown();
          http.connectionPool().evictAll();
        }
        assertThat(failures).as("failed calls").isEmpty();
        assertThat(ok.get()).isGreaterThan(100);
        Map<String, Instant> seen = server.seenSerials();
        for (String serial : serials.subList(0, 6)) {
          assertThat(seen).as("server saw serial %s", serial).containsKey(serial);
        }
        // Ordering, not wall-clock lag (a loaded machine stretches any fixed bound): a call started
        // after a rotation presents the new certificate or a newer one, except the one next
        // exchange
        // on each connection that was busy at the rotation, which is marked Connection: close; at
        // most one connection per worker is busy at a time.
        for (int i = 1; i < 6; i++) {
          long rotated = rotatedAt.get(serials.get(i));
          int index = i;
          List<Call> stale = calls.stream()
              .filter(c -> c.startedAt() > rotated && serials.indexOf(c.served()) < index)
              .toList();
          assertThat(stale)
              .as("calls started after rotation %s that presented an older certificate", i)
              .hasSizeLessThanOrEqualTo(4);
          assertThat(calls)
              .as("calls started after rotation %s", i)
              .anyMatch(c -> c.startedAt() > rotated && c.served().equals(serials.get(index)));
        }
      }
    }
  }
}
