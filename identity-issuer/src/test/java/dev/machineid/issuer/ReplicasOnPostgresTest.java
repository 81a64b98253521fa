package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.testkit.PostgresServer;
import dev.machineid.testkit.ProtocolClient;
import dev.machineid.testkit.ProtocolClient.Reply;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Two issuer replicas (same keys, one PostgreSQL database, different ports) act as one issuer. */
class ReplicasOnPostgresTest {
  private static PostgresServer pg;
  private static Path keys;
  /** Replica A's store runs a test's action at the start of its next transaction: another replica's commit lands there. */
  private static HookedStore storeA;

  private static IssuerStore storeB;
  private static Issuer a;
  private static Issuer b;

  @BeforeAll
  static void start() throws Exception {
    pg = PostgresServer.builder().start();
    String url = pg.createDatabase("replicas");
    keys = Files.createTempDirectory("replica-keys");
    storeA = new HookedStore(IssuerStore.jdbc(url, pg.user(), null));
    storeB = IssuerStore.jdbc(url, pg.user(), null);
    a = Issuer.builder()
        .trustDomain("replicas.test")
        .keysDirectory(keys)
        .store(storeA)
        .build()
        .start();
    b = Issuer.builder()
        .trustDomain("replicas.test")
        .keysDirectory(keys)
        .store(storeB)
        .build()
        .start();
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {a, b, storeA, storeB, pg}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // keep closing the rest
      }
    }
  }

  private static ProtocolClient anonymous(Issuer issuer) {
    return ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
  }

  private static ProtocolClient as(Issuer issuer, KeyPair k, IdentityResponse c) {
    return ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), k, c);
  }

  private static IdentityResponse join(Issuer on, String token, KeyPair k) {
    Reply r = anonymous(on).join(token, k, null);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.as(IdentityResponse.class);
  }

  @Test
  void aChallengeFromOneReplicaIsRedeemedOnTheOtherOnlyOnce() {
    a.bots().create("challenge-bot");
    String token = a.tokens().create("challenge-bot", Duration.ofMinutes(5));
    KeyPair k = ProtocolClient.ec();
    String challenge = anonymous(a).challenge("token", token, k);
    Reply joined =
        anonymous(b).post("/v1/join", ProtocolClient.joinRequest(token, challenge, k, null));
    assertThat(joined.status()).as(joined.toString()).isEqualTo(200);
    Reply replayed =
        anonymous(a).post("/v1/join", ProtocolClient.joinRequest(token, challenge, k, null));
    assertThat(replayed.code()).isEqualTo("challenge_invalid");
  }

  @Test
  void oneTokenJoinsExactlyOnceAmong64ConcurrentJoinsOnBothReplicas() throws Exception {
    a.bots().create("race-bot");
    String token = b.tokens().create("race-bot", Duration.ofMinutes(5));
    int n = 64;
    List<KeyPair> keyPairs = new ArrayList<>();
    List<String> challenges = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      KeyPair k = ProtocolClient.ec();
      keyPairs.add(k);
      challenges.add(anonymous(i % 2 == 0 ? a : b).challenge("token", token, k));
    }
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<Reply>> replies = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int j = i;
        ProtocolClient client = anonymous(j % 2 == 0 ? b : a);
        replies.add(pool.submit(() -> {
          go.await();
          return client.post(
              "/v1/join",
              ProtocolClient.joinRequest(token, challenges.get(j), keyPairs.get(j), null));
        }));
      }
      go.countDown();
      int ok = 0;
      List<String> codes = new ArrayList<>();
      for (Future<Reply> f : replies) {
        Reply r = f.get();
        if (r.status() == 200) {
          ok++;
        } else {
          codes.add(r.code());
        }
      }
      assertThat(ok).isEqualTo(1);
      assertThat(codes).hasSize(n - 1).containsOnly("token_consumed");
    } finally {
      pool.shutdownNow();
    }
    assertThat(a.instances().list("race-bot")).hasSize(1);
    assertThat(b.audit().verify().intact()).isTrue();
  }

  @Test
  void aLockMadeThroughOneReplicaRefusesRenewalOnTheOther() {
    a.bots().create("locked-bot");
    KeyPair k = ProtocolClient.ec();
    IdentityResponse c = join(a, a.tokens().create("locked-bot", Duration.ofMinutes(5)), k);
    a.locks().create(Lock.bot("locked-bot", "compromised host"));
    Reply r = as(b, k, c).renew(c.generation(), ProtocolClient.ec(), null);
    assertThat(r.code()).as(r.toString()).isEqualTo("bot_locked");
  }

  @Test
  void nothingIsIssuedAfterALockCommitsOnAnotherReplica() {
    a.bots().create("raced-bot");
    KeyPair k = ProtocolClient.ec();
    IdentityResponse c = join(a, a.tokens().create("raced-bot", Duration.ofMinutes(5)), k);
    // replica A has authorised the renewal; replica B commits a lock before A's issuing transaction
    storeA.atNextTransaction(() -> b.locks().create(Lock.bot("raced-bot", "compromised host")));
    Reply r = as(a, k, c).renew(c.generation(), ProtocolClient.ec(), null);
    assertThat(storeA.fired()).isTrue();
    assertThat(r.code()).as(r.toString()).isEqualTo("bot_locked");
    assertThat(b.instances().find(c.instanceId())).map(BotInstance::generation).contains(1L);
  }

  @Test
  void nothingIsIssuedAfterTheBotsDeletionCommitsOnAnotherReplica() {
    a.bots().create("deleted-bot");
    KeyPair k = ProtocolClient.ec();
    IdentityResponse c = join(a, a.tokens().create("deleted-bot", Duration.ofMinutes(5)), k);
    storeA.atNextTransaction(() -> b.bots().delete("deleted-bot"));
    Reply r = as(a, k, c).renew(c.generation(), ProtocolClient.ec(), null);
    assertThat(storeA.fired()).isTrue();
    assertThat(r.code()).as(r.toString()).isEqualTo("unauthenticated");
    assertThat(b.instances().find(c.instanceId())).isEmpty();
  }

  @Test
  void generationCompareAndSetHoldsAcrossReplicas() {
    a.bots().create("gen-bot");
    KeyPair k1 = ProtocolClient.ec();
    IdentityResponse first = join(b, b.tokens().create("gen-bot", Duration.ofMinutes(5)), k1);
    KeyPair k2 = ProtocolClient.ec();
    Reply renewed = as(a, k1, first).renew(first.generation(), k2, null);
    assertThat(renewed.status()).as(renewed.toString()).isEqualTo(200);
    IdentityResponse second = renewed.as(IdentityResponse.class);
    assertThat(second.generation()).isEqualTo(2);

    // The response was lost; the client retries on the other replica with the same key.
    Reply retried = as(b, k1, first).renew(first.generation(), k2, null);
    assertThat(retried.status()).as(retried.toString()).isEqualTo(200);
    assertThat(retried.as(IdentityResponse.class).certificateChain())
        .isEqualTo(second.certificateChain());

    // A copy of the old certificate asks with another key: stale, so the instance is locked
    // everywhere.
    Reply stale = as(b, k1, first).renew(first.generation(), ProtocolClient.ec(), null);
    assertThat(stale.code()).as(stale.toString()).isEqualTo("generation_mismatch");
    assertThat(a.instances().find(first.instanceId())).map(BotInstance::locked).contains(true);
    Reply afterLock = as(a, k2, second).renew(second.generation(), ProtocolClient.ec(), null);
    assertThat(afterLock.code()).isEqualTo("bot_locked");
    assertThat(a.audit().verify().intact()).isTrue();
  }
}
