package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TokenJoinTest {
  private final MutableClock clock = MutableClock.stopped();
  private Issuer issuer;
  private ProtocolClient client;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().trustDomain("example.test").clock(clock).build().start();
    issuer.bots().create("backup");
    client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  @Test
  void tokenJoinIssuesABotIdentityForTheRequestedTtl() throws Exception {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    KeyPair keys = ProtocolClient.ec();

    ProtocolClient.Reply reply = client.join(token, keys, "6s");

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    assertThat(reply.contentType()).startsWith("application/json");
    IdentityResponse creds = reply.as(IdentityResponse.class);
    assertThat(creds.bot()).isEqualTo("backup");
    assertThat(creds.generation()).isEqualTo(1);
    assertThat(creds.certificateChain()).hasSize(2);
    X509Certificate leaf = Pem.certificate(creds.certificateChain().get(0));
    X509Certificate ca = Pem.certificate(creds.certificateChain().get(1));

    assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=bot-backup");
    assertThat(leaf.getPublicKey()).isEqualTo(keys.getPublic());
    Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
    assertThat(sans).containsExactly(List.of(6, "spiffe://example.test/bot/backup"));
    assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
    assertThat(leaf.getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getSerialNumber().signum()).isPositive();
    assertThat(leaf.getSerialNumber().bitLength()).isGreaterThan(64);
    long lifetime = Duration.between(
            leaf.getNotBefore().toInstant().plus(Duration.ofMinutes(1)),
            leaf.getNotAfter().toInstant())
        .toSeconds();
    assertThat(lifetime).isCloseTo(6, within(2L));
    assertThat(creds.notAfter()).isEqualTo(leaf.getNotAfter().toInstant());
    assertThat(creds.renewAfter()).isAfter(clock.instant()).isBefore(creds.notAfter());
    assertThat(creds.serverTime()).isEqualTo(clock.instant());

    Authority authority = client.get("/v1/authority").as(Authority.class);
    assertThat(authority.trustDomain()).isEqualTo("example.test");
    assertThat(authority.x509Authorities()).hasSize(1);
    X509Certificate anchor = Pem.certificate(authority.x509Authorities().get(0));
    assertThat(anchor).isEqualTo(ca).isEqualTo(issuer.authorityCertificate());
    leaf.verify(anchor.getPublicKey());
    assertThat(issuer.caPin().matches(anchor)).isTrue();
    assertThat(creds.authority()).isEqualTo(authority);

    IdentityExtension ext = IdentityExtension.from(leaf).orElseThrow();
    assertThat(ext.instanceId()).isEqualTo(creds.instanceId());
    assertThat(ext.generation()).isEqualTo(1);
    assertThat(ext.joinMethod()).isEqualTo("token");
    assertThat(leaf.getNonCriticalExtensionOIDs()).contains(IdentityExtension.OID);

    BotInstance instance = issuer.instances().find(creds.instanceId()).orElseThrow();
    assertThat(instance.bot()).isEqualTo("backup");
    assertThat(instance.generation()).isEqualTo(1);
    assertThat(instance.joinMethod()).isEqualTo("token");
    assertThat(instance.locked()).isFalse();
    assertThat(instance.initialAuthentication().remoteAddress()).startsWith("127.0.0.1:");
    assertThat(issuer.instances().list("backup"))
        .extracting(BotInstance::id)
        .containsExactly(creds.instanceId());
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumed())
        .isTrue());
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("join");
      assertThat(e.outcome()).isEqualTo("success");
      assertThat(e.instanceId()).isEqualTo(creds.instanceId());
    });
  }

  @Test
  void joinAcceptsEd25519AndRsaKeysAndUsesTheDefaultTtl() throws Exception {
    for (KeyPair keys : List.of(ProtocolClient.ed25519(), ProtocolClient.rsa(2048))) {
      String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
      ProtocolClient.Reply reply = client.join(token, keys, null);
      assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
      X509Certificate leaf =
          Pem.certificate(reply.as(IdentityResponse.class).certificateChain().get(0));
      assertThat(leaf.getPublicKey()).isEqualTo(keys.getPublic());
      assertThat(Duration.between(
              leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()))
          .isEqualTo(Duration.ofMinutes(61));
    }
  }

  @Test
  void weakOrUnsupportedKeysAreRefusedAsMalformed() {
    KeyPair weak = ProtocolClient.rsa(1024);
    ObjectNode req = ProtocolClient.object()
        .put("join_method", "token")
        .put("token", "x")
        .put("public_key", Pem.encode(weak.getPublic()));
    ProtocolClient.Reply reply = client.post("/v1/join/challenge", req);
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.code()).isEqualTo("malformed_request");
  }

  @Test
  void usedTokenIsRefusedAsConsumed() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    assertThat(client.join(token, ProtocolClient.ec(), null).status()).isEqualTo(200);

    ProtocolClient.Reply second = client.join(token, ProtocolClient.ec(), null);

    assertThat(second.status()).isEqualTo(401);
    assertThat(second.code()).isEqualTo("token_consumed");
    assertThat(second.contentType()).startsWith("application/problem+json");
    assertThat(issuer.instances().list("backup")).hasSize(1);
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("join");
      assertThat(e.failed()).isTrue();
      assertThat(e.detail()).containsEntry("code", "token_consumed").containsKey("reason");
      assertThat(e.detail().toString()).doesNotContain(token);
    });
  }

  @Test
  void tokenIsConsumedExactlyOnceUnderConcurrentUse() throws Exception {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    int n = 32;
    List<KeyPair> keys = new ArrayList<>();
    List<ObjectNode> requests = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      KeyPair k = ProtocolClient.ec();
      keys.add(k);
      requests.add(ProtocolClient.joinRequest(token, client.challenge("token", token, k), k, null));
    }
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<ProtocolClient.Reply>> replies = new ArrayList<>();
      for (ObjectNode req : requests) {
        ProtocolClient c = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
        replies.add(pool.submit(() -> {
          go.await();
          return c.post("/v1/join", req);
        }));
      }
      go.countDown();
      int ok = 0;
      List<String> codes = new ArrayList<>();
      for (Future<ProtocolClient.Reply> f : replies) {
        ProtocolClient.Reply r = f.get();
        if (r.status() == 200) {
          ok++;
        } else {
          codes.add(r.code());
        }
      }
      assertThat(ok).isEqualTo(1);
      assertThat(codes).hasSize(n - 1).containsOnly("token_consumed");
      assertThat(issuer.instances().list("backup")).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void expiredTokenIsRefusedAsExpired() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(5));
    KeyPair keys = ProtocolClient.ec();
    clock.advance(Duration.ofMinutes(6));

    ProtocolClient.Reply reply = client.join(token, keys, null);

    assertThat(reply.status()).isEqualTo(401);
    assertThat(reply.code()).isEqualTo("token_expired");
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumed())
        .isFalse());
  }

  @Test
  void unknownTokenIsRejectedWithoutSayingWhy() {
    ProtocolClient.Reply reply =
        client.join("00112233445566778899aabbccddeeff", ProtocolClient.ec(), null);
    assertThat(reply.status()).isEqualTo(401);
    assertThat(reply.code()).isEqualTo("proof_rejected");
    assertThat(reply.json().get("detail").asText()).doesNotContain("token");
  }

  @Test
  void challengeIsRedeemedOnlyOnce() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    KeyPair keys = ProtocolClient.ec();
    ObjectNode req =
        ProtocolClient.joinRequest(token, client.challenge("token", token, keys), keys, null);
    assertThat(client.post("/v1/join", req).status()).isEqualTo(200);

    ProtocolClient.Reply replay = client.post("/v1/join", req);

    assertThat(replay.status()).isEqualTo(401);
    assertThat(replay.code()).isEqualTo("challenge_invalid");
  }

  @Test
  void challengeUsedTwiceIsInvalidEvenWhenTheFirstUseFailed() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    KeyPair keys = ProtocolClient.ec();
    String challenge = client.challenge("token", token, keys);
    ObjectNode bad = ProtocolClient.joinRequest(token, challenge, keys, null);
    bad.put(
        "challenge_signature", ProtocolClient.sign(ProtocolClient.ec().getPrivate(), challenge));
    assertThat(client.post("/v1/join", bad).code()).isEqualTo("proof_rejected");

    ProtocolClient.Reply second =
        client.post("/v1/join", ProtocolClient.joinRequest(token, challenge, keys, null));

    assertThat(second.code()).isEqualTo("challenge_invalid");
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumed())
        .isFalse());
  }

  @Test
  void everyProofIsBoundToAChallengeForOneKeyTokenAndMethod() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    KeyPair first = ProtocolClient.ec();
    KeyPair other = ProtocolClient.ec();
    String challenge = client.challenge("token", token, first);

    ProtocolClient.Reply otherKey =
        client.post("/v1/join", ProtocolClient.joinRequest(token, challenge, other, null));
    assertThat(otherKey.code()).isEqualTo("challenge_invalid");

    String otherToken = issuer.tokens().create("backup", Duration.ofMinutes(10));
    ProtocolClient.Reply wrongToken = client.post(
        "/v1/join",
        ProtocolClient.joinRequest(
            otherToken, client.challenge("token", token, first), first, null));
    assertThat(wrongToken.code()).isEqualTo("challenge_invalid");

    ObjectNode forged = ProtocolClient.joinRequest(token, "A".repeat(54), first, null);
    assertThat(client.post("/v1/join", forged).code()).isEqualTo("challenge_invalid");

    assertThat(issuer.tokens().list()).isNotEmpty().allSatisfy(t -> assertThat(t.consumed())
        .isFalse());
  }

  @Test
  void expiredChallengeIsInvalid() {
    String token = issuer.tokens().create("backup", Duration.ofHours(1));
    KeyPair keys = ProtocolClient.ec();
    String challenge = client.challenge("token", token, keys);
    assertThat(challenge.length()).isLessThanOrEqualTo(64);
    clock.advance(Duration.ofMinutes(2).plusSeconds(1));

    ProtocolClient.Reply reply =
        client.post("/v1/join", ProtocolClient.joinRequest(token, challenge, keys, null));

    assertThat(reply.code()).isEqualTo("challenge_invalid");
  }

  @Test
  void challengeExpiresTwoMinutesAfterIssue() {
    KeyPair keys = ProtocolClient.ec();
    ObjectNode req = ProtocolClient.object()
        .put("join_method", "token")
        .put("token", "t")
        .put("public_key", Pem.encode(keys.getPublic()));
    ProtocolClient.Reply reply = client.post("/v1/join/challenge", req);
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.json().get("expires_at").asText())
        .isEqualTo(clock
            .instant()
            .truncatedTo(ChronoUnit.SECONDS)
            .plus(Duration.ofMinutes(2))
            .toString());
  }

  @Test
  void joinProvesPossessionOfTheCertifiedKey() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    KeyPair keys = ProtocolClient.ec();
    String challenge = client.challenge("token", token, keys);
    ObjectNode req = ProtocolClient.joinRequest(token, challenge, keys, null);
    req.put(
        "challenge_signature", ProtocolClient.sign(ProtocolClient.ec().getPrivate(), challenge));

    ProtocolClient.Reply reply = client.post("/v1/join", req);

    assertThat(reply.status()).isEqualTo(401);
    assertThat(reply.code()).isEqualTo("proof_rejected");
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumed())
        .isFalse());
    assertThat(issuer.instances().list("backup")).isEmpty();
  }

  @Test
  void ttlAboveTheMaximumIsRefusedBeforeTheTokenIsUsed() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    ProtocolClient.Reply reply = client.join(token, ProtocolClient.ec(), "25h");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.code()).isEqualTo("ttl_exceeded");
    assertThat(client.join(token, ProtocolClient.ec(), "24h").status()).isEqualTo(200);
  }

  @Test
  void lockedBotCannotJoin() {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    Lock lock = issuer.locks().create(Lock.bot("backup", "compromised host"));
    assertThat(lock.id()).isNotNull();
    assertThat(issuer.locks().list()).containsExactly(lock);

    ProtocolClient.Reply reply = client.join(token, ProtocolClient.ec(), null);
    assertThat(reply.status()).isEqualTo(403);
    assertThat(reply.code()).isEqualTo("bot_locked");

    // the refusal is audited under the bot, and did not use the token up: once the lock is lifted,
    // the same token joins
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("join");
      assertThat(e.outcome()).isEqualTo(AuditEvent.FAILURE);
      assertThat(e.bot()).isEqualTo("backup");
      assertThat(e.detail()).containsEntry("code", "bot_locked");
    });
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumedAt())
        .isNull());
    issuer.locks().remove(lock.id());
    assertThat(client.join(token, ProtocolClient.ec(), null).status()).isEqualTo(200);
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumedAt())
        .isNotNull());
  }

  @Test
  void lockOnATokenBlocksJoinsWithIt() {
    assertLockRefusesJoinsWithoutUsingTheTokenUp(tokenId -> Lock.token(tokenId, "leaked in a log"));
  }

  @Test
  void lockOnTheIdentityATokenAttestsBlocksItWithoutUsingItUp() {
    assertLockRefusesJoinsWithoutUsingTheTokenUp(
        tokenId -> Lock.identity("token:" + tokenId, "issued to the wrong team"));
  }

  /** A lock made from the token's id refuses every join with the token, and once removed the same token joins. */
  private void assertLockRefusesJoinsWithoutUsingTheTokenUp(
      java.util.function.Function<String, Lock> lockFor) {
    String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
    Lock lock =
        issuer.locks().create(lockFor.apply(issuer.tokens().list().get(0).id()));
    assertThat(client.join(token, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");
    assertThat(client.join(token, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumedAt())
        .isNull());
    issuer.locks().remove(lock.id());
    assertThat(client.join(token, ProtocolClient.ec(), null).status()).isEqualTo(200);
  }

  @Test
  void unknownJoinMethodIsNamedAsSuch() {
    KeyPair keys = ProtocolClient.ec();
    ObjectNode req = ProtocolClient.object()
        .put("join_method", "carrier-pigeon")
        .put("token", "t")
        .put("public_key", Pem.encode(keys.getPublic()));
    ProtocolClient.Reply reply = client.post("/v1/join/challenge", req);
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.code()).isEqualTo("unknown_join_method");
  }
}
