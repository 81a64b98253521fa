package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.join.TokenConsumption.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class InMemoryStoreTest {
  private final IssuerStore store = IssuerStore.inMemory();
  private final Instant now = Instant.parse("2030-01-01T00:00:00Z");

  private <T> List<T> race(int n, java.util.concurrent.Callable<T> task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        fs.add(pool.submit(() -> {
          go.await();
          return task.call();
        }));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void tokenConsumptionSucceedsOnceAmongConcurrentCallers() throws Exception {
    store.insertToken(new Token("id", "web", "token", now, now.plusSeconds(60), null));
    List<Outcome> outcomes = race(64, () -> store.consumeToken("id", "token", now).outcome());
    assertThat(outcomes.stream().filter(o -> o == Outcome.CONSUMED)).hasSize(1);
    assertThat(outcomes.stream().filter(o -> o == Outcome.ALREADY_CONSUMED)).hasSize(63);
  }

  @Test
  void tokenConsumptionReportsWhyItFailedWithoutChangingTheToken() {
    store.insertToken(new Token("id", "web", "token", now, now.plusSeconds(60), null));
    assertThat(store.consumeToken("nope", "token", now).outcome()).isEqualTo(Outcome.MISSING);
    assertThat(store.consumeToken("id", "github", now).outcome()).isEqualTo(Outcome.WRONG_METHOD);
    assertThat(store.consumeToken("id", "token", now.plusSeconds(60)).outcome()).isEqualTo(Outcome.EXPIRED);
    assertThat(store.tokens().get(0).consumed()).isFalse();
  }

  @Test
  void usedChallengeIsRecordedOnceAndDroppedAfterExpiry() throws Exception {
    List<Boolean> inserted = race(32, () -> store.insertUsedChallenge("nonce", now.plusSeconds(120)));
    assertThat(inserted.stream().filter(b -> b)).hasSize(1);
    assertThat(store.deleteExpired(now, Duration.ofDays(1))).isZero();
    assertThat(store.deleteExpired(now.plusSeconds(120), Duration.ofDays(1))).isEqualTo(1);
    assertThat(store.insertUsedChallenge("nonce", now.plusSeconds(240))).isTrue();
  }

  @Test
  void expiredTokensAreKeptForTheRetentionPeriod() {
    store.insertToken(new Token("id", "web", "token", now, now.plusSeconds(60), null));
    store.deleteExpired(now.plusSeconds(61), Duration.ofHours(1));
    assertThat(store.tokens()).hasSize(1);
    store.deleteExpired(now.plusSeconds(60).plus(Duration.ofHours(1)), Duration.ofHours(1));
    assertThat(store.tokens()).isEmpty();
  }

  @Test
  void generationCompareAndSetAdvancesOnceAmongConcurrentRenewals() throws Exception {
    Authentication auth = new Authentication(now, "127.0.0.1:1", "token", 1, Map.of());
    store.insertInstance(new InstanceRecord("i", "web", "token", "t", "token:t", now, 1, "h1", "{}", "s1", auth, auth, null));
    List<Boolean> results = race(32, () -> store.compareAndSetGeneration("i", 1, 2, "h2", "{}", "s2", auth));
    assertThat(results.stream().filter(b -> b)).hasSize(1);
    assertThat(store.findInstance("i").orElseThrow().generation()).isEqualTo(2);
    assertThat(store.compareAndSetGeneration("i", 1, 2, "h3", "{}", "s3", auth)).isFalse();
  }
}
