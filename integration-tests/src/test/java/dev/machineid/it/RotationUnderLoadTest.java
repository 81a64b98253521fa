package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.tls.OkHttpTls;
import dev.machineid.testkit.IssuerExtension;
import dev.machineid.testkit.MtlsServer;
import dev.machineid.testkit.TestBot;
import dev.machineid.testkit.TestCertificateAuthority;
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
 * DESIGN §8: with a few seconds of TTL, the identity rotates repeatedly while four threads call an
 * mTLS server through OkHttp; no call fails, and the server sees each new certificate shortly after
 * its rotation (no resumed session and no pooled connection keeps the old one).
 */
class RotationUnderLoadTest {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void rotationUnderLoadFailsNoCallAndServesEachNewCertificate(TestBot bot) throws Exception {
    Map<String, Instant> rotatedAt = new ConcurrentHashMap<>();
    List<String> serials = new CopyOnWriteArrayList<>();
    IdentityListener recorder = new IdentityListener() {
      @Override
      public void onIssued(Identity identity) {
        serials.add(identity.serialHex());
        rotatedAt.put(identity.serialHex(), Instant.now());
      }

      @Override
      public void onRenewed(Identity previous, Identity current) {
        serials.add(current.serialHex());
        rotatedAt.put(current.serialHex(), Instant.now());
      }
    };
    try (TestCertificateAuthority serverCa = TestCertificateAuthority.create("api server CA");
        MachineIdentity id = bot.identityBuilder().credentialTtl(Duration.ofSeconds(6)).listener(recorder).build()) {
      id.start();
      try (MtlsServer server = MtlsServer.builder()
          .serverCertificate(serverCa.issueServerCertificate(List.of("127.0.0.1")))
          .trustedClientCAs(() -> id.current().trustBundle())
          .start()) {
        OkHttpClient http = OkHttpTls.configure(new OkHttpClient.Builder(), id, serverCa.trustManager())
            .retryOnConnectionFailure(false)
            .build();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong ok = new AtomicLong();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        Map<String, Instant> lastSeen = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          workers.add(pool.submit(() -> {
            while (running.get()) {
              try (Response r = http.newCall(new Request.Builder().url(server.url().toString()).build()).execute()) {
                if (r.code() == 200) {
                  ok.incrementAndGet();
                  // the server names the client certificate it saw on this connection
                  String served = Protocol.mapper().readTree(r.body().string()).get("serial").asText();
                  // the latest use wins, whichever worker records it last
                  lastSeen.merge(served, Instant.now(), (x, y) -> x.isAfter(y) ? x : y);
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
          Duration lag = Duration.between(rotatedAt.get(serial), seen.get(serial));
          assertThat(lag).as("time from rotation to first use of %s", serial).isLessThan(Duration.ofSeconds(1));
        }
        // after each rotation the previous certificate disappears: no resumed session, no pooled connection keeps it
        for (int i = 1; i < 6; i++) {
          String old = serials.get(i - 1);
          Instant replaced = rotatedAt.get(serials.get(i));
          assertThat(lastSeen.get(old)).as("last use of %s after its replacement at %s", old, replaced)
              .isBefore(replaced.plus(Duration.ofSeconds(1)));
        }
      }
    }
  }
}
