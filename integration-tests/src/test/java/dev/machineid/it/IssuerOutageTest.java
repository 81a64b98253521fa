package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.ManualScheduler;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md §7: a stopped issuer degrades the SDK, never breaks it while the identity is valid. */
class IssuerOutageTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void stoppedIssuerDegradesWithCappedBackoffAndRecovers(TestBot bot) throws Exception {
    MutableClock clock = MutableClock.systemUtc();
    // attempts dated on the SDK's clock, which the manual scheduler moves: no waiting on wall-clock
    // windows
    List<Instant> attempts = new CopyOnWriteArrayList<>();
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(200))
        .retryMaxDelay(Duration.ofMillis(800))
        .build();
    Issuer issuer = ISSUER.issuer();
    AtomicBoolean outage = new AtomicBoolean();
    try (ManualScheduler scheduler = ManualScheduler.on(clock)) {
      // every delay the SDK asks its scheduler for, recorded while the issuer is down
      Recording executor = new Recording(scheduler, outage);
      try (MachineIdentity id = bot.identityBuilder()
          .clock(clock)
          .executor(executor)
          .credentialTtl(Duration.ofMinutes(5))
          .renewalPolicy(policy)
          .requestTimeout(Duration.ofSeconds(2))
          .listener(new IdentityListener() {
            @Override
            public void onRenewalFailed(Throwable error, int consecutiveFailures) {
              attempts.add(clock.instant());
            }
          })
          .build()) {
        Identity before = id.start();
        issuer.stop();
        outage.set(true);
        try {
          id.renewNow();
          scheduler.awaitIdle();
          assertThat(id.health().state()).isEqualTo(Health.State.DEGRADED);
          Instant windowStart = clock.instant();
          int atStart = attempts.size();
          scheduler.advance(Duration.ofSeconds(4));
          int inWindow = attempts.size() - atStart;
          Duration window = Duration.between(windowStart, clock.instant());
          // backoff floor 200 ms: never more than window/200ms + 1 attempts; and it keeps trying
          assertThat(inWindow).isBetween(2, (int) (window.toMillis() / 200) + 1);
          // every retry waits between the base delay and the cap, however many failures came before
          // (uncapped, the fifth would wait up to 200 ms * 2^4)
          outage.set(false);
          List<Long> retries =
              executor.delaysInOutage.stream().filter(d -> d > 0).toList();
          assertThat(retries)
              .as("retry delays asked of the executor")
              .hasSizeGreaterThanOrEqualTo(inWindow)
              .allSatisfy(d -> assertThat(d).isBetween(200L, 800L));

          // still serving the valid identity, without blocking
          Health h = id.health();
          assertThat(h.state()).isEqualTo(Health.State.DEGRADED);
          assertThat(h.consecutiveFailures()).isGreaterThanOrEqualTo(2);
          assertThat(h.lastError()).contains("cannot reach the issuer");
          assertThat(id.current()).isSameAs(before);
          assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null))
              .isNotNull();
        } finally {
          issuer.start();
        }
        scheduler.advance(Duration.ofSeconds(1));
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> id.health().state() == Health.State.HEALTHY);
        assertThat(id.current().generation()).isEqualTo(2);
        assertThat(id.current().instanceId()).isEqualTo(before.instanceId());
      }
    }
  }

  /** The manual scheduler, recording the delays asked of it while {@code recording} is set. */
  private static final class Recording extends AbstractExecutorService
      implements ScheduledExecutorService {
    final List<Long> delaysInOutage = new CopyOnWriteArrayList<>();
    private final ManualScheduler scheduler;
    private final AtomicBoolean recording;

    Recording(ManualScheduler scheduler, AtomicBoolean recording) {
      this.scheduler = scheduler;
      this.recording = recording;
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
      if (recording.get()) {
        delaysInOutage.add(unit.toMillis(delay));
      }
      return scheduler.schedule(command, delay, unit);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
      if (recording.get()) {
        delaysInOutage.add(unit.toMillis(delay));
      }
      return scheduler.schedule(callable, delay, unit);
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(
        Runnable command, long initialDelay, long period, TimeUnit unit) {
      return scheduler.scheduleAtFixedRate(command, initialDelay, period, unit);
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(
        Runnable command, long initialDelay, long delay, TimeUnit unit) {
      return scheduler.scheduleWithFixedDelay(command, initialDelay, delay, unit);
    }

    @Override
    public void execute(Runnable command) {
      scheduler.execute(command);
    }

    @Override
    public void shutdown() {
      scheduler.shutdown();
    }

    @Override
    public List<Runnable> shutdownNow() {
      return scheduler.shutdownNow();
    }

    @Override
    public boolean isShutdown() {
      return scheduler.isShutdown();
    }

    @Override
    public boolean isTerminated() {
      return scheduler.isTerminated();
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
      return scheduler.awaitTermination(timeout, unit);
    }
  }

  @Test
  void pastExpiryHealthIsExpiredAndTheKeyManagerServesNothing(TestBot bot) {
    MutableClock clock = MutableClock.systemUtc();
    Issuer issuer = ISSUER.issuer();
    try (MachineIdentity id =
        bot.identityBuilder().clock(clock).credentialTtl(Duration.ofMinutes(5)).build()) {
      Identity identity = id.start();
      assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null))
          .isNotNull();
      issuer.stop();
      try {
        clock.advance(Duration.ofMinutes(6));
        assertThat(id.health().state()).isEqualTo(Health.State.EXPIRED);
        assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null))
            .isNull();
        assertThat(id.keyManager().getClientAliases("EC", null)).isNull();
        assertThat(id.health().expiry()).isEqualTo(identity.notAfter());
      } finally {
        issuer.start();
      }
    }
  }
}
