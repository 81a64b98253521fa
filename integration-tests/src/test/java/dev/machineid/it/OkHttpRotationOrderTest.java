package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The SDK's own consumers of a rotation act before application listeners hear of it: an application
 * that calls out through the OkHttp helper as soon as it is told of a renewal presents the new
 * certificate, never the previous one from a pooled connection.
 */
class OkHttpRotationOrderTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final int ROTATIONS = 15;

  /** A renewal handed to the test thread; the renewal thread waits in the listener until {@link #done}. */
  private record Told(Identity identity, CountDownLatch done) {}

  @Test
  void theFirstCallAfterEachRotationPresentsTheNewCertificate(TestBot bot) throws Exception {
    SynchronousQueue<Told> told = new SynchronousQueue<>();
    // registered at build time, before the OkHttp helper exists: listener order alone would tell it
    // first
    IdentityListener application = new IdentityListener() {
      @Override
      public void onRenewed(Identity previous, Identity current) {
        Told t = new Told(current, new CountDownLatch(1));
        try {
          if (told.offer(t, 30, TimeUnit.SECONDS)) {
            // hold the renewal thread until the application's call is answered
            t.done().await(30, TimeUnit.SECONDS);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    try (TestCertificateAuthority serverCa = TestCertificateAuthority.create("api server CA");
        MachineIdentity id = bot.identityBuilder()
            .credentialTtl(Duration.ofMinutes(10))
            .listener(application)
            .build()) {
      Identity first = id.start();
      try (MtlsServer server = MtlsServer.builder()
          .serverCertificate(serverCa.issueServerCertificate(List.of("127.0.0.1")))
          .trustedClientCAs(() -> id.current().trustBundle())
          .start()) {
        OkHttpClient http = OkHttpTls.configure(
                new OkHttpClient.Builder(), id, serverCa.trustManager())
            .build();
        try {
          // a pooled connection made with the first certificate
          assertThat(serial(http, server)).isEqualTo(first.serialHex());
          List<String> presented = new ArrayList<>();
          List<String> newest = new ArrayList<>();
          for (int i = 0; i < ROTATIONS; i++) {
            id.renewNow();
            Told t = told.poll(30, TimeUnit.SECONDS);
            assertThat(t).as("renewal %s told to the application", i + 1).isNotNull();
            try {
              newest.add(t.identity().serialHex());
              presented.add(serial(http, server));
            } finally {
              t.done().countDown();
            }
          }
          assertThat(presented)
              .as("the certificate each first call after a rotation presented")
              .isEqualTo(newest);
          assertThat(newest).doesNotHaveDuplicates();
        } finally {
          http.dispatcher().executorService().shutdown();
          http.connectionPool().evictAll();
        }
      }
    }
  }

  /** The serial of the client certificate the server saw for one call. */
  private static String serial(OkHttpClient http, MtlsServer server) throws Exception {
    try (Response r =
        http.newCall(new Request.Builder().url(server.url().toString()).build()).execute()) {
      assertThat(r.code()).isEqualTo(200);
      return Protocol.reader().readTree(r.body().string()).get("serial").asText();
    }
  }
}
