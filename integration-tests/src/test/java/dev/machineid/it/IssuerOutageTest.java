package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.issuer.TestBot;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md §7: a stopped issuer degrades the SDK, never breaks it while the identity is valid. */
class IssuerOutageTest {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void stoppedIssuerDegradesWithCappedBackoffAndRecovers(TestBot bot) throws Exception {
    List<Instant> attempts = new CopyOnWriteArrayList<>();
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(200))
        .retryMaxDelay(Duration.ofMillis(800))
        .build();
    Issuer issuer = ISSUER.issuer();
    // every delay the SDK asks its executor for, recorded while the issuer is down
    List<Long> delaysInOutage = new CopyOnWriteArrayList<>();
    java.util.concurrent.atomic.AtomicBoolean outage = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.ScheduledThreadPoolExecutor executor = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "machineid-test-renewal");
      t.setDaemon(true);
      return t;
    }) {
      @Override
      public java.util.concurrent.ScheduledFuture<?> schedule(Runnable command, long delay, java.util.concurrent.TimeUnit unit) {
        if (outage.get()) {
          delaysInOutage.add(unit.toMillis(delay));
        }
        return super.schedule(command, delay, unit);
      }
    };
    try (MachineIdentity id = bot.identityBuilder()
        .executor(executor)
        .credentialTtl(Duration.ofMinutes(5))
        .renewalPolicy(policy)
        .requestTimeout(Duration.ofSeconds(2))
        .listener(new IdentityListener() {
          @Override
          public void onRenewalFailed(Throwable error, int consecutiveFailures) {
            attempts.add(Instant.now());
          }
        })
        .build()) {
      Identity before = id.start();
      issuer.stop();
      outage.set(true);
      try {
        id.renewNow();
        await().atMost(Duration.ofSeconds(5)).until(() -> id.health().state() == Health.State.DEGRADED);
        Instant windowStart = Instant.now();
        int atStart = attempts.size();
        await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(5)).until(() -> true);
        int inWindow = attempts.size() - atStart;
        Duration window = Duration.between(windowStart, Instant.now());
        // backoff floor 200 ms: never more than window/200ms + 1 attempts; and it keeps trying
        assertThat(inWindow).isBetween(2, (int) (window.toMillis() / 200) + 1);
        // every retry waits between the base delay and the cap, however many failures came before
        // (uncapped, the fifth would wait up to 200 ms * 2^4)
        outage.set(false);
        List<Long> retries = delaysInOutage.stream().filter(d -> d > 0).toList();
        assertThat(retries).as("retry delays asked of the executor").hasSizeGreaterThanOrEqualTo(inWindow)
            .allSatisfy(d -> assertThat(d).isBetween(200L, 800L));

        // still serving the valid identity, without blocking
        Health h = id.health();
        assertThat(h.state()).isEqualTo(Health.State.DEGRADED);
        assertThat(h.consecutiveFailures()).isGreaterThanOrEqualTo(2);
        assertThat(h.lastError()).contains("cannot reach the issuer");
        assertThat(id.current()).isSameAs(before);
        assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null)).isNotNull();
      } finally {
        issuer.start();
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> id.health().state() == Health.State.HEALTHY);
      assertThat(id.current().generation()).isEqualTo(2);
      assertThat(id.current().instanceId()).isEqualTo(before.instanceId());
    } finally {
      executor.shutdownNow();
    }
  }

  @Test
  void pastExpiryHealthIsExpiredAndTheKeyManagerServesNothing(TestBot bot) {
    MutableClock clock = MutableClock.systemUtc();
    Issuer issuer = ISSUER.issuer();
    try (MachineIdentity id = bot.identityBuilder()
        .clock(clock)
        .credentialTtl(Duration.ofMinutes(5))
        .build()) {
      Identity identity = id.start();
      assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null)).isNotNull();
      issuer.stop();
      try {
        clock.advance(Duration.ofMinutes(6));
        assertThat(id.health().state()).isEqualTo(Health.State.EXPIRED);
        assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null)).isNull();
        assertThat(id.keyManager().getClientAliases("EC", null)).isNull();
        assertThat(id.health().expiry()).isEqualTo(identity.notAfter());
      } finally {
        issuer.start();
      }
    }
  }
}
