package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.issuer.join.JoinAttempt;
import dev.machineid.issuer.join.JoinRejectedException;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.VerifiedJoin;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.ProtocolClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LifecycleTest {

  @Test
  void restartKeepsThePortKeysAndInstances() {
    try (Issuer issuer = Issuer.builder().build().start()) {
      int port = issuer.port();
      String pin = issuer.caPin().toString();
      issuer.bots().create("web");
      KeyPair keys = ProtocolClient.ec();
      IdentityResponse joined = ProtocolClient.anonymous(
              issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(5)), keys, null)
          .as(IdentityResponse.class);

      issuer.stop();
      issuer.stop();
      issuer.start();

      assertThat(issuer.port()).isEqualTo(port);
      assertThat(issuer.caPin().toString()).isEqualTo(pin);
      assertThat(issuer.url().toString()).isEqualTo("https://127.0.0.1:" + port);
      ProtocolClient.Reply renewed = ProtocolClient.as(
              issuer.url(), issuer.authorityCertificate(), keys, joined)
          .renew(1, ProtocolClient.ec(), null);
      assertThat(renewed.status()).as(renewed.toString()).isEqualTo(200);
      assertThat(renewed.as(IdentityResponse.class).generation()).isEqualTo(2);
    }
  }

  @Test
  void keysDirectoryHoldsPrivateFilesAndGivesTheSamePinOnReload(@TempDir Path dir)
      throws Exception {
    Path keys = dir.resolve("keys");
    String pin;
    try (Issuer first = Issuer.builder().keysDirectory(keys).build()) {
      pin = first.caPin().toString();
    }
    try (var files = Files.list(keys)) {
      List<Path> all = files.toList();
      // the issuer authority, the challenge MAC key, and one key and certificate per purpose
      // (docs/architecture.md §5)
      assertThat(all.stream().map(p -> p.getFileName().toString()))
          .contains(
              "authority-key.pem",
              "authority-cert.pem",
              "challenge-mac.key",
              "database-client-key.pem",
              "database-server-cert.pem",
              "spiffe-key.pem",
              "kubernetes-client-key.pem",
              "jwt-key.pem",
              "ssh-user-ca-key.pem",
              "ssh-host-ca-key.pem");
      for (Path f : all) {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(f)))
            .as(f.toString())
            .isEqualTo("rw-------");
      }
    }
    try (Issuer second = Issuer.builder().keysDirectory(keys).build().start()) {
      assertThat(second.caPin().toString()).isEqualTo(pin);
      assertThat(ProtocolClient.anonymous(second.url(), second.authorityCertificate())
              .get("/v1/authority")
              .status())
          .isEqualTo(200);
    }
  }

  @Test
  void keysReadableByOthersAreRefused(@TempDir Path dir) throws Exception {
    Issuer.builder().keysDirectory(dir).build().close();
    Files.setPosixFilePermissions(
        dir.resolve("authority-key.pem"), PosixFilePermissions.fromString("rw-r--r--"));
    assertThatThrownBy(() -> Issuer.builder().keysDirectory(dir).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("chmod 600");
  }

  @Test
  void challengesFromOneIssuerAreAcceptedByAnotherSharingItsKeysAndStore(@TempDir Path dir) {
    IssuerStore shared = IssuerStore.inMemory();
    try (Issuer a = Issuer.builder().keysDirectory(dir).store(shared).build().start();
        Issuer b = Issuer.builder().keysDirectory(dir).store(shared).build().start()) {
      a.bots().create("web");
      String token = a.tokens().create("web", Duration.ofMinutes(5));
      KeyPair keys = ProtocolClient.ec();
      String challenge = ProtocolClient.anonymous(a.url(), a.authorityCertificate())
          .challenge("token", token, keys);
      ProtocolClient.Reply joined = ProtocolClient.anonymous(b.url(), b.authorityCertificate())
          .post("/v1/join", ProtocolClient.joinRequest(token, challenge, keys, null));
      assertThat(joined.status()).as(joined.toString()).isEqualTo(200);
      ProtocolClient.Reply replay = ProtocolClient.anonymous(a.url(), a.authorityCertificate())
          .post("/v1/join", ProtocolClient.joinRequest(token, challenge, keys, null));
      assertThat(replay.code()).isEqualTo("challenge_invalid");
    }
  }

  @Test
  void closeIsIdempotentAndUseAfterCloseFails() {
    Issuer issuer = Issuer.builder().build().start();
    issuer.close();
    issuer.close();
    assertThatThrownBy(issuer::start).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(issuer::port).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> issuer.bots().list()).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> issuer.bots().create("x")).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void aResourceServiceObtainedBeforeCloseFailsAfterIt() {
    // a store the issuer does not own stays open, so the refusals below are the services' own
    try (IssuerStore store = IssuerStore.inMemory()) {
      Issuer issuer = Issuer.builder().store(store).build();
      Bots bots = issuer.bots();
      Tokens tokens = issuer.tokens();
      Locks locks = issuer.locks();
      Admins admins = issuer.admins();
      bots.create("held");
      issuer.close();
      assertThat(store.findBot("held")).as("the store is still usable").isPresent();
      assertThatThrownBy(bots::list)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("the issuer is closed");
      assertThatThrownBy(() -> tokens.create("held", Duration.ofMinutes(1)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("the issuer is closed");
      assertThatThrownBy(locks::list)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("the issuer is closed");
      assertThatThrownBy(() -> admins.add("ops"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("the issuer is closed");
    }
  }

  @Test
  void portIsUnknownBeforeStart() {
    try (Issuer issuer = Issuer.builder().build()) {
      assertThat(issuer.caPin()).isNotNull();
      assertThatThrownBy(issuer::port)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("start()");
    }
  }

  @Test
  void builderRejectsBadValuesAndRepeatedSettings() {
    assertThatThrownBy(() -> Issuer.builder().trustDomain("Not A Domain"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Issuer.builder().listen("127.0.0.1", 70000))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Issuer.builder().maxTtl(Duration.ofHours(25)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Issuer.builder().defaultTtl(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Issuer.builder()
            .defaultTtl(Duration.ofHours(2))
            .maxTtl(Duration.ofHours(1))
            .build())
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Issuer.builder().trustDomain("a.test").trustDomain("b.test"))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void botNamesAreValidatedAndUnique() {
    try (Issuer issuer = Issuer.builder().build()) {
      for (String bad : List.of("", "Web", "-web", "web/1", "a".repeat(64), "web bot", "bot\n")) {
        assertThatThrownBy(() -> issuer.bots().create(bad))
            .as(bad)
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("invalid bot name");
      }
      Bot bot = issuer
          .bots()
          .create("web-1.prod_a", List.of("deployer"), Map.of("logins", List.of("deploy")));
      assertThat(issuer.bots().find("web-1.prod_a")).contains(bot);
      assertThatThrownBy(() -> issuer.bots().create("web-1.prod_a"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("already exists");
      assertThatThrownBy(() -> issuer.tokens().create("nobody", Duration.ofMinutes(1)))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(issuer.bots().delete("web-1.prod_a")).isTrue();
      assertThat(issuer.bots().delete("web-1.prod_a")).isFalse();
      assertThat(issuer.bots().list()).isEmpty();
    }
  }

  @Test
  void tokensAreListedWithoutTheirSecrets() {
    try (Issuer issuer = Issuer.builder().build()) {
      issuer.bots().create("web");
      String secret = issuer.tokens().create("web", Duration.ofMinutes(1));
      assertThat(secret).matches("[0-9a-f]{32}");
      Token listed = issuer.tokens().list().get(0);
      assertThat(listed.toString()).doesNotContain(secret);
      assertThat(listed.bot()).isEqualTo("web");
      assertThat(listed.consumed()).isFalse();
      assertThat(issuer.audit().events().toString()).doesNotContain(secret);
      assertThat(issuer.tokens().delete(secret)).isTrue();
      assertThat(issuer.tokens().list()).isEmpty();
    }
  }

  @Test
  void anExplicitVerifierReplacesTheDiscoveredOne() {
    JoinVerifier refuseAll = new JoinVerifier() {
      @Override
      public String name() {
        return "token";
      }

      @Override
      public boolean renewable() {
        return true;
      }

      @Override
      public VerifiedJoin verify(JoinAttempt attempt) {
        throw new JoinRejectedException(
            ErrorCode.PROOF_REJECTED, "test verifier refuses everything");
      }
    };
    try (Issuer issuer = Issuer.builder().verifier(refuseAll).build().start()) {
      issuer.bots().create("web");
      ProtocolClient.Reply reply = ProtocolClient.anonymous(
              issuer.url(), issuer.authorityCertificate())
          .join(issuer.tokens().create("web", Duration.ofMinutes(1)), ProtocolClient.ec(), null);
      assertThat(reply.code()).isEqualTo("proof_rejected");
      assertThat(issuer.audit().events()).anySatisfy(e -> assertThat(e.detail().get("reason"))
          .isEqualTo("test verifier refuses everything"));
      assertThat(issuer.tokens().list().get(0).consumed()).isFalse();
    }
  }

  @Test
  void issuerReissuesItsOwnTlsCertificateBeforeItExpires() throws Exception {
    MutableClock clock = MutableClock.stopped();
    try (Issuer issuer = Issuer.builder().clock(clock).build().start()) {
      java.security.cert.X509Certificate first = serverCertificate(issuer);
      clock.advance(Duration.ofDays(30));
      assertThat(serverCertificate(issuer))
          .as("well before two thirds of its life")
          .isEqualTo(first);
      clock.advance(Duration.ofDays(40));
      java.security.cert.X509Certificate second = serverCertificate(issuer);
      assertThat(second.getSerialNumber()).isNotEqualTo(first.getSerialNumber());
      assertThat(second.getNotAfter()).isAfter(first.getNotAfter());
      second.verify(issuer.authorityCertificate().getPublicKey());
      assertThat(second.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    }
  }

  /** The certificate the issuer presents, read without validating it (its validity is in the test clock's future). */
  private static java.security.cert.X509Certificate serverCertificate(Issuer issuer)
      throws Exception {
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(
        null,
        new javax.net.ssl.TrustManager[] {
          new javax.net.ssl.X509TrustManager() {
            @Override
            public void checkClientTrusted(java.security.cert.X509Certificate[] c, String a) {}

            @Override
            public void checkServerTrusted(java.security.cert.X509Certificate[] c, String a) {}

            @Override
            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
              return new java.security.cert.X509Certificate[0];
            }
          }
        },
        null);
    try (javax.net.ssl.SSLSocket s =
        (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
      s.startHandshake();
      return (java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }
}
