package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.IssuerException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.RenewRequest;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.testkit.FaultyProxy;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md §7 and §11.8: the generation counter against stolen certificates. */
class GenerationCounterTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static RenewalPolicy fastRetries() {
    return RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(100))
        .retryMaxDelay(Duration.ofMillis(300))
        .build();
  }

  @Test
  void lostRenewalResponseIsRetriedWithTheSameKeyAndGetsTheSameCertificate(TestBot bot)
      throws Exception {
    URI issuer = ISSUER.issuer().url();
    try (FaultyProxy proxy = FaultyProxy.start(issuer.getHost(), issuer.getPort());
        MachineIdentity id = MachineIdentity.builder()
            .issuer(URI.create("https://127.0.0.1:" + proxy.port()))
            .caPin(bot.caPin())
            .token(bot.token())
            .credentialTtl(Duration.ofMinutes(10))
            .renewalPolicy(fastRetries())
            .build()) {
      Identity first = id.start();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      id.addListener(new IdentityListener() {
        @Override
        public void onRenewalFailed(Throwable error, int consecutiveFailures) {
          failures.add(error);
        }
      });
      // let the heartbeat that follows the join finish, so the next request is the renewal (on the
      // heartbeat's pooled connection or a new one: the drop applies to either)
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() ->
              ISSUER.issuer().instances().find(first.instanceId()).orElseThrow().latestHeartbeat()
                  != null);
      // the renewal reaches the issuer and is applied, but its answer never arrives
      proxy.dropNextAnswer();
      assertThatThrownBy(() -> id.renewNow().get()).isInstanceOf(ExecutionException.class);
      assertThat(proxy.droppedAnswerCount()).isEqualTo(1);
      // the engine retries on its own with the key it kept
      await().atMost(Duration.ofSeconds(10)).until(() -> id.current().generation() >= 2);
      Identity renewed = id.current();
      assertThat(failures).isNotEmpty();
      assertThat(renewed.generation()).isEqualTo(2);
      assertThat(renewed.instanceId()).isEqualTo(first.instanceId());
      // the issuer applied exactly one renewal, and the retry got that same certificate back
      assertThat(
              ISSUER.issuer().instances().find(first.instanceId()).orElseThrow().generation())
          .isEqualTo(2);
      assertThat(ISSUER.issuer().locks().list())
          .noneMatch(l -> l.value().equals(first.instanceId()));
      // and the instance keeps renewing normally
      assertThat(id.renewNow().get().generation()).isEqualTo(3);
      assertThat(id.health().state()).isEqualTo(Health.State.HEALTHY);
    }
  }

  @Test
  void staleGenerationWithAnotherKeyLocksTheInstanceAndIsAudited(TestBot bot) throws Exception {
    List<IssuerException> locked = new CopyOnWriteArrayList<>();
    try (MachineIdentity id = bot.identityBuilder()
        .credentialTtl(Duration.ofMinutes(10))
        .renewalPolicy(fastRetries())
        .listener(new IdentityListener() {
          @Override
          public void onLocked(IssuerException error) {
            locked.add(error);
          }
        })
        .build()) {
      Identity stolen = id.start();
      Identity current = id.renewNow().get();
      assertThat(current.generation()).isEqualTo(2);

      // a thief with the generation-1 certificate and key renews with a key of its own
      HttpResponse<String> answer = renewWith(stolen, stolen.generation());
      assertThat(answer.statusCode()).isEqualTo(409);
      assertThat(Protocol.reader().readTree(answer.body()).get("code").asText())
          .isEqualTo("generation_mismatch");

      assertThat(ISSUER
              .issuer()
              .instances()
              .find(stolen.instanceId())
              .orElseThrow()
              .locked())
          .isTrue();
      assertThat(ISSUER.issuer().audit().events())
          .anyMatch(e ->
              e.type().equals("instance.locked") && stolen.instanceId().equals(e.instanceId()));

      // the legitimate client is refused from now on, and hears about the lock
      assertThatThrownBy(() -> id.renewNow().get())
          .hasCauseInstanceOf(IssuerException.class)
          .cause()
          .satisfies(e -> assertThat(((IssuerException) e).code()).isEqualTo("bot_locked"));
      await().atMost(Duration.ofSeconds(5)).until(() -> !locked.isEmpty());
      assertThat(id.health().state()).isEqualTo(Health.State.DEGRADED);
      assertThat(id.current()).isSameAs(current);
    }
  }

  /** Calls /v1/renew presenting {@code identity}'s certificate, asking to certify a new key. */
  private static HttpResponse<String> renewWith(Identity identity, long generation)
      throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry(
        "bot",
        identity.privateKey(),
        new char[0],
        identity.certificateChain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
    kmf.init(ks, new char[0]);
    KeyStore ts = KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    ts.setCertificateEntry("ca", identity.trustBundle().get(0));
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ts);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    String body = Protocol.writer()
        .writeValueAsString(new RenewRequest(
            generation, Pem.encode(KeyAlgorithm.EC_P256.generate().getPublic()), null, "10m"));
    HttpClient http = HttpClient.newBuilder().sslContext(ctx).build();
    return http.send(
        HttpRequest.newBuilder(ISSUER.issuer().url().resolve("/v1/renew"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @SuppressWarnings("unused")
  private static boolean isLockEvent(AuditEvent e) {
    return e.type().contains("lock");
  }
}
