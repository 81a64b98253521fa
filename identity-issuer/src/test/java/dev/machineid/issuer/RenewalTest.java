package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RenewalTest {
  private Issuer issuer;
  private KeyPair keys;
  private IdentityResponse joined;

  @BeforeEach
  void join() {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("web");
    String token = issuer.tokens().create("web", Duration.ofMinutes(10));
    keys = ProtocolClient.ec();
    ProtocolClient.Reply reply = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(token, keys, "10m");
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    joined = reply.as(IdentityResponse.class);
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  private static X509Certificate leaf(IdentityResponse c) {
    return Pem.certificate(c.certificateChain().get(0));
  }

  @Test
  void renewalAdvancesTheGeneration() {
    KeyPair next = ProtocolClient.ec();
    ProtocolClient.Reply reply = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, next, "6s");

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    IdentityResponse renewed = reply.as(IdentityResponse.class);
    assertThat(renewed.generation()).isEqualTo(2);
    assertThat(renewed.instanceId()).isEqualTo(joined.instanceId());
    X509Certificate cert = leaf(renewed);
    assertThat(cert.getPublicKey()).isEqualTo(next.getPublic());
    assertThat(IdentityExtension.from(cert).orElseThrow().generation()).isEqualTo(2);
    long lifetime = Duration.between(
            cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant())
        .toSeconds();
    // the 6 s asked for, plus the back-dating that absorbs clock skew
    assertThat(lifetime)
        .isEqualTo(Duration.ofSeconds(6)
            .plus(dev.machineid.issuer.internal.authority.CertificateAuthority.BACKDATE)
            .toSeconds());
    BotInstance instance = issuer.instances().find(joined.instanceId()).orElseThrow();
    assertThat(instance.generation()).isEqualTo(2);
    assertThat(instance.latestAuthentication().generation()).isEqualTo(2);
    assertThat(instance.initialAuthentication().generation()).isEqualTo(1);

    // and again with the new certificate
    KeyPair third = ProtocolClient.ec();
    ProtocolClient.Reply again = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), next, renewed)
        .renew(2, third, null);
    assertThat(again.status()).as(again.toString()).isEqualTo(200);
    assertThat(again.as(IdentityResponse.class).generation()).isEqualTo(3);
  }

  @Test
  void retryWithThePreviousGenerationAndTheSameKeyGetsTheSameCertificate() {
    KeyPair next = ProtocolClient.ec();
    ProtocolClient asJoined =
        ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, joined);
    IdentityResponse first = asJoined.renew(1, next, null).as(IdentityResponse.class);

    ProtocolClient.Reply retry = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, next, null);

    assertThat(retry.status()).as(retry.toString()).isEqualTo(200);
    IdentityResponse again = retry.as(IdentityResponse.class);
    assertThat(leaf(again).getSerialNumber()).isEqualTo(leaf(first).getSerialNumber());
    assertThat(again.certificateChain()).isEqualTo(first.certificateChain());
    assertThat(again.generation()).isEqualTo(2);
    assertThat(issuer.locks().list()).isEmpty();
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().locked())
        .isFalse();
  }

  @Test
  void staleGenerationWithAnotherKeyLocksTheInstanceAndIsAudited() {
    KeyPair next = ProtocolClient.ec();
    IdentityResponse renewed = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, next, null)
        .as(IdentityResponse.class);

    // someone holding a copy of the generation-1 certificate tries to renew with their own key
    ProtocolClient.Reply stolen = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, ProtocolClient.ec(), null);

    assertThat(stolen.status()).isEqualTo(409);
    assertThat(stolen.code()).isEqualTo("generation_mismatch");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().locked())
        .isTrue();
    assertThat(issuer.locks().list()).singleElement().satisfies(l -> {
      assertThat(l.target()).isEqualTo(Lock.Target.INSTANCE);
      assertThat(l.value()).isEqualTo(joined.instanceId());
    });
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("instance.locked");
      assertThat(e.instanceId()).isEqualTo(joined.instanceId());
      assertThat(e.bot()).isEqualTo("web");
      assertThat(e.detail().get("reason")).contains("stale generation 1");
    });

    // the legitimate holder of the current certificate is now locked out too
    ProtocolClient.Reply legit = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), next, renewed)
        .renew(2, ProtocolClient.ec(), null);
    assertThat(legit.status()).isEqualTo(403);
    assertThat(legit.code()).isEqualTo("bot_locked");
  }

  @Test
  void generationOlderThanThePreviousLocksTheInstance() {
    KeyPair k2 = ProtocolClient.ec();
    IdentityResponse g2 = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, k2, null)
        .as(IdentityResponse.class);
    KeyPair k3 = ProtocolClient.ec();
    assertThat(ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), k2, g2)
            .renew(2, k3, null)
            .status())
        .isEqualTo(200);

    // generation 1 now is two behind, even with the key that was certified at generation 2
    ProtocolClient.Reply reply = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, k2, null);
    assertThat(reply.code()).isEqualTo("generation_mismatch");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().locked())
        .isTrue();
  }

  @Test
  void bodyGenerationMustMatchThePresentedCertificate() {
    ProtocolClient.Reply reply = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(7, ProtocolClient.ec(), null);
    // a body that contradicts its own certificate is malformed, not a stale copy: no lock
    assertThat(reply.code()).isEqualTo("malformed_request");
    assertThat(issuer.locks().list()).isEmpty();
  }

  @Test
  void renewalWithoutAClientCertificateIsUnauthenticated() {
    ProtocolClient.Reply reply = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .renew(1, ProtocolClient.ec(), null);
    assertThat(reply.status()).isEqualTo(401);
    assertThat(reply.code()).isEqualTo("unauthenticated");
    assertThat(reply.contentType()).startsWith("application/problem+json");
  }

  @Test
  void locksAreCheckedOnEveryAuthenticatedCall() {
    issuer
        .locks()
        .create(Lock.serial(leaf(joined).getSerialNumber().toString(16), "certificate leaked"));
    ProtocolClient bot =
        ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, joined);
    assertThat(bot.renew(1, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");
    ProtocolClient.Reply hb = bot.post(
        "/v1/heartbeat",
        "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":1,\"one_shot\":false}");
    assertThat(hb.code()).isEqualTo("bot_locked");
  }

  @Test
  void expiredLockNoLongerApplies() {
    // a lock cannot be created expired (Locks.create refuses it): it expires as the clock moves
    dev.machineid.testkit.MutableClock clock = dev.machineid.testkit.MutableClock.stopped();
    try (Issuer timed = Issuer.builder().clock(clock).build().start()) {
      timed.bots().create("web");
      KeyPair k = ProtocolClient.ec();
      IdentityResponse j = ProtocolClient.anonymous(timed.url(), timed.authorityCertificate())
          .join(timed.tokens().create("web", Duration.ofMinutes(10)), k, "10m")
          .as(IdentityResponse.class);
      timed
          .locks()
          .create(Lock.bot("web", "maintenance").expiringAt(clock.instant().plusSeconds(1)));
      ProtocolClient bot = ProtocolClient.as(timed.url(), timed.authorityCertificate(), k, j);
      assertThat(bot.renew(1, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");
      clock.advance(Duration.ofSeconds(2));
      assertThat(bot.renew(1, ProtocolClient.ec(), null).status()).isEqualTo(200);
    }
  }

  @Test
  void deletedBotCannotRenew() {
    issuer.bots().delete("web");
    ProtocolClient.Reply reply = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, ProtocolClient.ec(), null);
    assertThat(reply.code()).isEqualTo("unauthenticated");
  }

  @Test
  void heartbeatIsStoredAsTheInstancesLatest() {
    ProtocolClient bot =
        ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, joined);
    ProtocolClient.Reply reply = bot.post(
        "/v1/heartbeat",
        "{\"hostname\":\"db1\",\"version\":\"0.1.0\",\"uptime_seconds\":42,\"one_shot\":false,\"outputs\":{\"ssh\":\"ok\"}}");

    assertThat(reply.status()).as(reply.toString()).isEqualTo(204);
    Heartbeat hb =
        issuer.instances().find(joined.instanceId()).orElseThrow().heartbeat().orElseThrow();
    assertThat(hb.hostname()).isEqualTo("db1");
    assertThat(hb.version()).isEqualTo("0.1.0");
    assertThat(hb.uptimeSeconds()).isEqualTo(42);
    assertThat(hb.oneShot()).isFalse();
    assertThat(hb.outputs()).isEqualTo(Map.of("ssh", "ok"));
  }

  @Test
  void certificateFromAnotherAuthorityIsNotAccepted() throws Exception {
    try (Issuer other = Issuer.builder().build().start()) {
      other.bots().create("web");
      KeyPair k = ProtocolClient.ec();
      IdentityResponse foreign = ProtocolClient.anonymous(other.url(), other.authorityCertificate())
          .join(other.tokens().create("web", Duration.ofMinutes(1)), k, null)
          .as(IdentityResponse.class);
      // both authorities have the same name, so the client offers the foreign chain, and the
      // issuer's TLS layer refuses it: the connection ends (an alert, or a reset when it is
      // closed before the alert is read) and no HTTP exchange ever happens
      for (String protocol : List.of("TLSv1.2", "TLSv1.3")) {
        String genuine = exchange(keys, joined, protocol);
        assertThat(genuine)
            .as("the same exchange with this issuer's certificate, %s", protocol)
            .startsWith("HTTP/1.1 ");
        String refused = exchange(k, foreign, protocol);
        assertThat(refused)
            .as(protocol)
            .startsWith("refused: ")
            .containsAnyOf(
                "SSLHandshakeException", "SSLException", "SocketException", "end of stream")
            .doesNotContain("SocketTimeoutException")
            .doesNotContain("ConnectException");
      }
      assertThat(issuer.instances().list("web"))
          .singleElement()
          .satisfies(i -> assertThat(i.generation()).isEqualTo(1));
      assertThat(issuer.audit().events()).noneMatch(e -> e.type().equals("renewal") && !e.failed());
    }
  }

  /**
   * A renewal request over a raw TLS socket presenting {@code credentials}' chain: the status line
   * of the answer, or {@code "refused: <exception>"} when the connection ends without one.
   */
  private String exchange(KeyPair keyPair, IdentityResponse credentials, String protocol)
      throws Exception {
    X509Certificate[] chain = credentials.certificateChain().stream()
        .map(Pem::certificate)
        .toArray(X509Certificate[]::new);
    java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("bot", keyPair.getPrivate(), new char[0], chain);
    ks.setCertificateEntry("issuer", issuer.authorityCertificate());
    javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance("SunX509");
    kmf.init(ks, new char[0]);
    javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
    tmf.init(ks);
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    try (javax.net.ssl.SSLSocket socket =
        (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
      socket.setSoTimeout(10_000);
      socket.setEnabledProtocols(new String[] {protocol});
      socket.startHandshake();
      socket
          .getOutputStream()
          .write(
              "POST /v1/renew HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      byte[] status = socket.getInputStream().readNBytes(12);
      return status.length == 12
          ? new String(status, java.nio.charset.StandardCharsets.US_ASCII)
          : "refused: end of stream after " + status.length + " bytes";
    } catch (java.io.IOException e) {
      return "refused: " + e;
    }
  }
}
