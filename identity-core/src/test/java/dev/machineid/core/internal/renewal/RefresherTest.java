package dev.machineid.core.internal.renewal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.Health;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.TestCerts;
import dev.machineid.core.internal.tls.KeySnapshot;
import dev.machineid.core.internal.tls.RotatingKeyManager;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The one refresher of the bot identity and of every role-scoped credential, on core's manual
 * scheduler: renewal timing, jitter bounds, backoff growth and cap, refusals, expiry while the
 * issuer is down, the pending-key rule and restore-then-renew. Nothing sleeps; hours pass in
 * milliseconds.
 */
class RefresherTest {
  private static final Duration TTL = Duration.ofHours(1);
  private static final KeyAlgorithm ALG = KeyAlgorithm.EC_P256;
  private static final KeyPair CA_KEY = ALG.generate();
  /** One key under every pending key: each refresh gets its own {@code KeyPair} object without the cost of a new key. */
  private static final KeyPair KEY = ALG.generate();

  /** A credential as the fake issuer below issues it. */
  record Cred(int serial, Instant notAfter, KeyPair key, KeySnapshot keys) {}

  private final StepScheduler scheduler = new StepScheduler();

  /** A scripted issuer and the credential's own side, around one refresher. */
  private class Fixture implements Refresher.Source<Cred>, Refresher.Outcomes<Cred> {
    final RenewalPolicy policy;
    final DoubleSupplier random;
    final Refresher<Cred> refresher;
    final AtomicReference<KeySnapshot> keys = new AtomicReference<>();
    final RotatingKeyManager keyManager = new RotatingKeyManager(keys::get, scheduler.clock());
    final List<Cred> published = new ArrayList<>();
    final List<Instant> attempts = new ArrayList<>();
    final List<KeyPair> keysPresented = new ArrayList<>();
    final List<Throwable> failures = new ArrayList<>();
    final List<Cred> expired = new ArrayList<>();
    Function<Integer, RuntimeException> issuer = n -> null;
    Function<Throwable, Refresher.Retry> judge = t -> Refresher.Retry.BACKOFF;
    Duration ttl = TTL;
    boolean withCertificates;
    int serial;

    Fixture(RenewalPolicy policy, DoubleSupplier random) {
      this.policy = policy;
      this.random = random;
      this.refresher = new Refresher<>(
          "test credential", this, this, policy, scheduler.clock(), scheduler, random);
    }

    /** The issuer is down: every attempt fails to connect. */
    void down() {
      issuer = n -> new IllegalStateException("cannot reach the issuer");
    }

    void up() {
      issuer = n -> null;
    }

    @Override
    public Refresher.Fresh<Cred> fetch(Cred current) {
      attempts.add(scheduler.now());
      KeyPair kp = refresher.pendingKey().get(() -> new KeyPair(KEY.getPublic(), KEY.getPrivate()));
      keysPresented.add(kp);
      RuntimeException refusal = issuer.apply(attempts.size());
      if (refusal != null) {
        throw refusal;
      }
      Instant now = scheduler.now();
      Instant notAfter = now.plus(ttl);
      KeySnapshot snapshot = null;
      if (withCertificates) {
        X509Certificate ca = TestCerts.ca(CA_KEY, "ca");
        X509Certificate leaf =
            TestCerts.leaf(CA_KEY, "ca", kp, "bot", "spiffe://td/bot/a", notAfter);
        snapshot = KeySnapshot.of(List.of(leaf, ca), kp.getPrivate());
      }
      refresher.pendingKey().accepted();
      Cred c = new Cred(++serial, notAfter, kp, snapshot);
      return new Refresher.Fresh<>(
          c, policy.refreshDelay(now, notAfter, null, random.getAsDouble()));
    }

    @Override
    public Instant notAfter(Cred value) {
      return value.notAfter();
    }

    @Override
    public void published(Cred before, Cred next) {
      if (next.keys() != null) {
        keyManager.retire(keys.getAndSet(next.keys()));
      }
      published.add(next);
    }

    @Override
    public Refresher.Retry failed(Throwable error, int consecutive, Cred current) {
      failures.add(error);
      return judge.apply(error);
    }

    @Override
    public void expired(Cred value) {
      expired.add(value);
    }

    /** The delays between consecutive attempts. */
    List<Duration> gaps() {
      List<Duration> gaps = new ArrayList<>();
      for (int i = 1; i < attempts.size(); i++) {
        gaps.add(Duration.between(attempts.get(i - 1), attempts.get(i)));
      }
      return gaps;
    }
  }

  private static DoubleSupplier always(double r) {
    return () -> r;
  }

  private static DoubleSupplier sequence(double... values) {
    int[] i = {0};
    return () -> values[i[0]++ % values.length];
  }

  @Test
  void aNewCredentialIsRefreshedAtThePointOfItsRenewalWindowThatThePolicyDrew() {
    Fixture f = new Fixture(RenewalPolicy.defaults(), sequence(0.0, 0.5, 0.999));
    Instant t0 = scheduler.now();
    f.refresher.kick();
    scheduler.runDue();
    assertThat(f.published).hasSize(1);
    assertThat(f.refresher.state()).isEqualTo(Health.State.HEALTHY);
    // drawn 0.0: a third of the hour
    assertThat(f.refresher.nextRefresh()).isEqualTo(t0.plus(Duration.ofMinutes(20)));
    scheduler.advance(Duration.ofMinutes(20).minusMillis(1));
    assertThat(f.published).hasSize(1);
    scheduler.advance(Duration.ofMillis(1));
    assertThat(f.published).hasSize(2);
    // drawn 0.5: halfway between a third and a half
    assertThat(f.refresher.nextRefresh()).isEqualTo(t0.plus(Duration.ofMinutes(20 + 25)));
    scheduler.advance(Duration.ofMinutes(25));
    assertThat(f.published).hasSize(3);
    // drawn 0.999: just before half the lifetime
    assertThat(Duration.between(scheduler.now(), f.refresher.nextRefresh()))
        .isBetween(Duration.ofMinutes(29).plusSeconds(58), Duration.ofMinutes(30));
    assertThat(f.published).extracting(Cred::serial).containsExactly(1, 2, 3);
  }

  @Test
  void everyRefreshFallsBetweenAThirdAndAHalfOfTheLifetimeAndRefreshesSpreadOverThatWindow() {
    Fixture f = new Fixture(RenewalPolicy.defaults(), Refresher.sharedRandom(new Random(42)));
    f.refresher.kick();
    scheduler.runDue();
    scheduler.advance(Duration.ofHours(200));
    List<Duration> gaps = f.gaps();
    assertThat(gaps).hasSizeGreaterThan(300).allSatisfy(g -> assertThat(g)
        .isBetween(Duration.ofMinutes(20), Duration.ofMinutes(30).minusMillis(1)));
    // not in lockstep: the draws cover the window, both of its ends included
    assertThat(gaps.stream().min(Duration::compareTo).orElseThrow())
        .isLessThan(Duration.ofMinutes(21));
    assertThat(gaps.stream().max(Duration::compareTo).orElseThrow())
        .isGreaterThan(Duration.ofMinutes(29));
  }

  @Test
  void aFixedIntervalRefreshesAtTheIntervalMinusAtMostItsJitter() {
    RenewalPolicy policy =
        RenewalPolicy.builder().interval(Duration.ofMinutes(10)).jitter(0.2).build();
    Fixture f = new Fixture(policy, Refresher.sharedRandom(new Random(7)));
    f.refresher.kick();
    scheduler.runDue();
    scheduler.advance(Duration.ofHours(24));
    assertThat(f.gaps()).hasSizeGreaterThan(140).allSatisfy(g -> assertThat(g)
        .isBetween(Duration.ofMinutes(8), Duration.ofMinutes(10)));
    assertThat(f.gaps().stream().min(Duration::compareTo).orElseThrow())
        .isLessThan(Duration.ofMinutes(8).plusSeconds(10));
  }

  @Test
  void failedRefreshesBackOffExponentiallyFromTheBaseDelayUpToTheCap() {
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(200))
        .retryMaxDelay(Duration.ofMillis(800))
        .build();
    // the most the full jitter can draw, so each delay is its ceiling
    Fixture f = new Fixture(policy, always(1.0));
    f.refresher.kick();
    scheduler.runDue();
    Cred first = f.published.get(0);
    f.down();
    f.refresher.refreshNow();
    scheduler.runDue();
    scheduler.advance(Duration.ofSeconds(5));
    assertThat(f.gaps().subList(1, 8))
        .containsExactly(
            Duration.ofMillis(200),
            Duration.ofMillis(400),
            Duration.ofMillis(800),
            Duration.ofMillis(800),
            Duration.ofMillis(800),
            Duration.ofMillis(800),
            Duration.ofMillis(800));
    // still serving the valid credential, degraded, with the failure counted
    assertThat(f.refresher.current()).isSameAs(first);
    assertThat(f.refresher.state()).isEqualTo(Health.State.DEGRADED);
    assertThat(f.refresher.consecutiveFailures()).isEqualTo(f.failures.size()).isGreaterThan(6);
    assertThat(f.refresher.lastError()).hasMessageContaining("cannot reach the issuer");

    // the issuer comes back: the next retry renews, and the schedule is the renewal window again
    f.up();
    scheduler.advance(Duration.ofMillis(800));
    assertThat(f.published).hasSize(2);
    assertThat(f.refresher.state()).isEqualTo(Health.State.HEALTHY);
    assertThat(f.refresher.consecutiveFailures()).isZero();
    assertThat(Duration.between(scheduler.now(), f.refresher.nextRefresh()))
        .isGreaterThanOrEqualTo(Duration.ofMinutes(20));
  }

  @Test
  void duringAnOutageThereIsAtMostOneAttemptPerBaseDelayAndTheAttemptsGoOn() {
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(200))
        .retryMaxDelay(Duration.ofMillis(800))
        .build();
    for (double r : new double[] {0.0, 0.3, 0.999}) {
      Fixture f = new Fixture(policy, always(r));
      f.refresher.kick();
      scheduler.runDue();
      f.down();
      f.refresher.refreshNow();
      scheduler.runDue();
      int atStart = f.attempts.size();
      Duration window = Duration.ofSeconds(4);
      scheduler.advance(window);
      int inWindow = f.attempts.size() - atStart;
      assertThat(inWindow)
          .as("attempts in %s at draw %s", window, r)
          .isBetween(4, (int) (window.toMillis() / 200) + 1);
      assertThat(f.gaps().subList(1, f.gaps().size()))
          .allSatisfy(g -> assertThat(g).isBetween(Duration.ofMillis(200), Duration.ofMillis(800)));
      f.refresher.close();
    }
  }

  @Test
  void aRefusalThatRetryingCannotFixBacksOffFromTheRetryCapToTheRefusalCeiling() {
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryMaxDelay(Duration.ofMinutes(1))
        .refusalRetryDelay(Duration.ofMinutes(5))
        .build();
    Fixture f = new Fixture(policy, always(1.0));
    f.refresher.kick();
    scheduler.runDue();
    f.issuer = n -> new IllegalStateException("bot_locked");
    f.judge = t -> Refresher.Retry.REFUSED;
    f.refresher.refreshNow();
    scheduler.runDue();
    scheduler.advance(Duration.ofMinutes(30));
    assertThat(f.gaps().subList(1, 6))
        .containsExactly(
            Duration.ofMinutes(1),
            Duration.ofMinutes(2),
            Duration.ofMinutes(4),
            Duration.ofMinutes(5),
            Duration.ofMinutes(5));
    assertThat(f.refresher.state()).isEqualTo(Health.State.DEGRADED);

    // the lock is lifted: noticed within the refusal ceiling
    f.up();
    scheduler.advance(Duration.ofMinutes(5));
    assertThat(f.published).hasSize(2);
  }

  @Test
  void aFailureThatNothingHereCanFixStopsTheAttempts() {
    Fixture f = new Fixture(RenewalPolicy.defaults(), always(0.5));
    f.issuer = n -> new IllegalStateException("token_consumed");
    f.judge = t -> Refresher.Retry.STOP;
    f.refresher.kick();
    scheduler.runDue();
    assertThat(f.attempts).hasSize(1);
    assertThat(f.refresher.nextRefresh()).isNull();
    assertThat(f.refresher.state()).isEqualTo(Health.State.STARTING);
    scheduler.advance(Duration.ofHours(5));
    assertThat(f.attempts).hasSize(1);
  }

  @Test
  void pastExpiryWithTheIssuerDownHealthIsExpiredAndTheKeyManagerServesNothing() {
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofSeconds(1))
        .retryMaxDelay(Duration.ofSeconds(30))
        .build();
    Fixture f = new Fixture(policy, Refresher.sharedRandom(new Random(3)));
    f.ttl = Duration.ofMinutes(5);
    f.withCertificates = true;
    f.refresher.kick();
    scheduler.runDue();
    Cred only = f.published.get(0);
    assertThat(f.keyManager.chooseClientAlias(new String[] {"EC"}, null, null)).isNotNull();
    f.down();

    // renewal fails from the window on; the credential is still valid and served
    scheduler.advance(Duration.ofMinutes(4));
    assertThat(f.failures).isNotEmpty();
    assertThat(f.refresher.state()).isEqualTo(Health.State.DEGRADED);
    assertThat(f.keyManager.chooseClientAlias(new String[] {"EC"}, null, null)).isNotNull();
    assertThat(f.expired).isEmpty();

    // past not-after: expired, reported once, and nothing is offered to a handshake
    scheduler.advance(Duration.ofMinutes(1).plusSeconds(1));
    assertThat(f.refresher.state()).isEqualTo(Health.State.EXPIRED);
    assertThat(f.expired).containsExactly(only);
    assertThat(f.keyManager.chooseClientAlias(new String[] {"EC"}, null, null)).isNull();
    assertThat(f.keyManager.getClientAliases("EC", null)).isNull();
    // and it keeps trying: a retry after expiry still leaves it expired, never degraded
    int failed = f.failures.size();
    scheduler.advance(Duration.ofMinutes(2));
    assertThat(f.failures.size()).isGreaterThan(failed);
    assertThat(f.refresher.state()).isEqualTo(Health.State.EXPIRED);
    assertThat(f.expired).hasSize(1);

    // the issuer is back: the next retry serves a new credential and health recovers
    f.up();
    scheduler.advance(Duration.ofSeconds(30));
    assertThat(f.published).hasSize(2);
    assertThat(f.refresher.state()).isEqualTo(Health.State.HEALTHY);
    assertThat(f.keyManager.chooseClientAlias(new String[] {"EC"}, null, null)).isNotNull();
  }

  @Test
  void aFailedRefreshIsRetriedWithTheSameKeyAndOnlyAnAcceptedAnswerRetiresIt() {
    Fixture f = new Fixture(RenewalPolicy.defaults(), always(0.5));
    f.refresher.kick();
    scheduler.runDue();
    f.down();
    scheduler.advance(Duration.ofMinutes(26));
    assertThat(f.attempts).hasSizeGreaterThan(3);
    // every retry of the renewal presents the key of its first attempt (a lost answer stays usable)
    List<KeyPair> renewalKeys = List.copyOf(f.keysPresented.subList(1, f.keysPresented.size()));
    assertThat(renewalKeys).allSatisfy(k -> assertThat(k).isSameAs(renewalKeys.get(0)));
    assertThat(renewalKeys.get(0)).isNotSameAs(f.keysPresented.get(0));
    f.up();
    scheduler.advance(Duration.ofMinutes(1));
    assertThat(f.published).hasSize(2);
    assertThat(f.published.get(1).key()).isSameAs(renewalKeys.get(0));
    // accepted: the next renewal makes a new key
    scheduler.advance(Duration.ofMinutes(30));
    assertThat(f.published).hasSize(3);
    assertThat(f.published.get(2).key()).isNotSameAs(f.published.get(1).key());
  }

  @Test
  void aRestoredCredentialIsRenewedInItsOwnWindowWithTheKeyOfTheInterruptedRenewal() {
    RenewalPolicy policy = RenewalPolicy.defaults();
    DoubleSupplier random = always(0.5);
    KeyPair stored = ALG.generate();
    KeyPair interrupted = ALG.generate();
    // stored 10 minutes into its hour, with a renewal that was under way when the process stopped
    Instant issued = scheduler.now().minus(Duration.ofMinutes(10));
    Cred restored = new Cred(0, issued.plus(TTL), stored, null);
    Fixture f = new Fixture(policy, random) {
      boolean restoredOnce;

      @Override
      public Refresher.Fresh<Cred> fetch(Cred current) {
        if (!restoredOnce) {
          // the restore step: no call to the issuer; the renewal is due where the window of the
          // stored one puts it
          restoredOnce = true;
          refresher.pendingKey().resume(interrupted);
          Duration due = policy
              .refreshDelay(issued, restored.notAfter(), null, random.getAsDouble())
              .minus(Duration.between(issued, scheduler.now()));
          return new Refresher.Fresh<>(restored, due);
        }
        return super.fetch(current);
      }
    };
    f.refresher.kick();
    scheduler.runDue();
    assertThat(f.refresher.current()).isSameAs(restored);
    assertThat(f.attempts).isEmpty();
    // issued at -10 min, window point 25 min: renewed 15 min from now, not 25
    assertThat(f.refresher.nextRefresh()).isEqualTo(scheduler.now().plus(Duration.ofMinutes(15)));
    scheduler.advance(Duration.ofMinutes(15));
    assertThat(f.attempts).hasSize(1);
    assertThat(f.keysPresented).containsExactly(interrupted);
    assertThat(f.published).extracting(Cred::serial).containsExactly(0, 1);
    assertThat(f.refresher.state()).isEqualTo(Health.State.HEALTHY);
  }

  @Test
  void aStartThatGaveUpSchedulesNothingMoreUntilStartedAgain() {
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofSeconds(1))
        .retryMaxDelay(Duration.ofSeconds(2))
        .build();
    Fixture f = new Fixture(policy, always(0.5));
    f.down();
    f.refresher.kick();
    scheduler.advance(Duration.ofSeconds(10));
    int tried = f.attempts.size();
    assertThat(tried).isGreaterThan(3);
    f.refresher.abandon();
    scheduler.advance(Duration.ofMinutes(10));
    assertThat(f.attempts).hasSize(tried);
    assertThat(f.refresher.nextRefresh()).isNull();
    f.up();
    f.refresher.kick();
    scheduler.runDue();
    assertThat(f.published).hasSize(1);
  }

  @Test
  void closingStopsTheScheduleAndRefusesFurtherAttempts() {
    Fixture f = new Fixture(RenewalPolicy.defaults(), always(0.5));
    f.refresher.kick();
    scheduler.runDue();
    f.refresher.close();
    f.refresher.close();
    scheduler.advance(Duration.ofHours(3));
    assertThat(f.attempts).hasSize(1);
    assertThat(f.refresher.state()).isEqualTo(Health.State.CLOSED);
    assertThatThrownBy(f.refresher::attempt)
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("test credential is closed");
    assertThat(scheduler.pending()).isZero();
  }
}
