package dev.machineid.core.internal.renewal;

import dev.machineid.core.Health;
import dev.machineid.core.RenewalPolicy;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * Keeps one short-lived credential fresh: the bot identity and every role-scoped credential use it.
 * It owns when things happen, and nothing about how: attempts run one at a time on the scheduler;
 * a new value is refreshed at the delay its {@link Source} computed from the {@link RenewalPolicy}
 * (a random point of the renewal window); a failure is retried with the policy's capped exponential
 * backoff, or with the longer refusal backoff when retrying cannot help, or not at all; a value past
 * its expiry is reported once and health says {@code EXPIRED} (the key managers read the same clock
 * and serve nothing); and the key of a refresh is kept across failed attempts until an answer made
 * for it is accepted, so a lost answer is retried with the same key.
 *
 * <p>The protocol steps (join, renew, restore, {@code /v1/certificates}) are the {@link Source};
 * publishing a new value (TLS swap, listeners, outputs) is the {@link Outcomes}' business.
 *
 * @param <T> the credential kept fresh
 */
public final class Refresher<T> implements AutoCloseable {
  /** Fetches a new value: the protocol step. */
  public interface Source<T> {
    /**
     * Obtains the next value, given the current one ({@code null} before the first); throws on failure.
     * Nothing it throws may have changed what is served.
     */
    Fresh<T> fetch(T current);
  }

  /**
   * A value and the delay before it should be refreshed ({@link RenewalPolicy#refreshDelay}).
   *
   * @param value the new value
   * @param refreshIn the delay before the next refresh, from now
   */
  public record Fresh<T>(T value, Duration refreshIn) {
    public Fresh {
      Objects.requireNonNull(value, "value");
      Objects.requireNonNull(refreshIn, "refreshIn");
    }
  }

  /** What a failure means for the next attempt. */
  public enum Retry {
    /** Transient: retry with capped exponential backoff from the retry base delay. */
    BACKOFF,
    /** A refusal that retrying cannot fix: retry no faster than the refusal backoff. */
    REFUSED,
    /** Nothing on this side can help: stop until something starts it again. */
    STOP
  }

  /** The credential's own side: publishing a value, judging a failure, noticing expiry. */
  public interface Outcomes<T> {
    /** The instant after which {@code value} is no longer valid. */
    Instant notAfter(T value);

    /** {@code next} is now the current value (in place of {@code before}, which may be {@code null} or the same). */
    void published(T before, T next);

    /** Attempt number {@code consecutive} failed with {@code error}; says how to retry. */
    Retry failed(Throwable error, int consecutive, T current);

    /** {@code value} expired and no refresh replaced it. */
    default void expired(T value) {}
  }

  /** Key generation for a refresh: one key per refresh, kept across its failed attempts. */
  public static final class PendingKey {
    private KeyPair key;

    /** The key of the refresh under way, made by {@code generate} if there is none. */
    public synchronized KeyPair get(Supplier<KeyPair> generate) {
      if (key == null) {
        key = generate.get();
      }
      return key;
    }

    /** The key of the refresh under way, or {@code null}. */
    public synchronized KeyPair peek() {
      return key;
    }

    /** A refresh that was under way before a restart carries on with its key. */
    public synchronized void resume(KeyPair pending) {
      key = pending;
    }

    /** An answer made for the key was accepted: the next refresh makes a new one. */
    public synchronized void accepted() {
      key = null;
    }
  }

  private final String what;
  private final Source<T> source;
  private final Outcomes<T> outcomes;
  private final RenewalPolicy policy;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  private final DoubleSupplier random;
  private final AtomicReference<T> current = new AtomicReference<>();
  private final PendingKey pendingKey = new PendingKey();
  private final ReentrantLock attemptLock = new ReentrantLock();

  private volatile Health.State state = Health.State.STARTING;
  private volatile Throwable lastError;
  private volatile int consecutiveFailures;
  private volatile Instant nextRefresh;
  private volatile boolean closed;
  /** Set when a caller gave up waiting for the first value: failures stop rescheduling until {@link #kick()}. */
  private volatile boolean abandoned;

  private ScheduledFuture<?> scheduled;
  private ScheduledFuture<?> expiryWatch;

  /**
   * @param what what is refreshed, for the message of an attempt after close ("MachineIdentity", "credential handle 'db'")
   */
  public Refresher(
      String what,
      Source<T> source,
      Outcomes<T> outcomes,
      RenewalPolicy policy,
      Clock clock,
      ScheduledExecutorService scheduler,
      DoubleSupplier random) {
    this.what = Objects.requireNonNull(what, "what");
    this.source = Objects.requireNonNull(source, "source");
    this.outcomes = Objects.requireNonNull(outcomes, "outcomes");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.random = Objects.requireNonNull(random, "random");
  }

  /** A uniform random number in [0, 1) from a generator that may be shared between threads. */
  public static DoubleSupplier sharedRandom(java.util.random.RandomGenerator r) {
    Objects.requireNonNull(r, "random");
    return () -> {
      synchronized (r) {
        return r.nextDouble();
      }
    };
  }

  public T current() {
    return current.get();
  }

  public PendingKey pendingKey() {
    return pendingKey;
  }

  public Throwable lastError() {
    return lastError;
  }

  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  /** When the next attempt is due, or {@code null} if none is scheduled. */
  public Instant nextRefresh() {
    return nextRefresh;
  }

  /** The state of the credential now: {@code EXPIRED} as soon as the current value is past its expiry. */
  public Health.State state() {
    Health.State st = state;
    T cur = current.get();
    if (st != Health.State.CLOSED && cur != null && isExpired(cur)) {
      return Health.State.EXPIRED;
    }
    return st;
  }

  public boolean isClosed() {
    return closed;
  }

  private boolean isExpired(T value) {
    return !clock.instant().isBefore(outcomes.notAfter(value));
  }

  private boolean isValid(T value) {
    return value != null && !isExpired(value);
  }

  // ---------------------------------------------------------------- attempts

  /** One attempt on the caller's thread: returns the new value, or throws what the attempt failed with. */
  public T attempt() {
    attemptLock.lock();
    try {
      if (closed) {
        throw new IllegalStateException(what + " is closed");
      }
      T before = current.get();
      Fresh<T> fresh;
      try {
        fresh = source.fetch(before);
      } catch (Throwable t) {
        onFailure(t, before);
        throw t;
      }
      if (closed) {
        throw new IllegalStateException(what + " was closed during the attempt");
      }
      T next = fresh.value();
      schedule(fresh.refreshIn());
      current.set(next);
      consecutiveFailures = 0;
      lastError = null;
      state = Health.State.HEALTHY;
      watchExpiry(next);
      outcomes.published(before, next);
      return next;
    } finally {
      attemptLock.unlock();
    }
  }

  /** Runs {@code work} while no attempt runs (a reachability probe that must not interleave with one). */
  public void runExclusive(Runnable work) {
    attemptLock.lock();
    try {
      work.run();
    } finally {
      attemptLock.unlock();
    }
  }

  /** An attempt on the scheduler now; completes with its value or failure. */
  public CompletableFuture<T> refreshNow() {
    CompletableFuture<T> done = new CompletableFuture<>();
    scheduler.execute(() -> {
      try {
        done.complete(attempt());
      } catch (Throwable t) {
        done.completeExceptionally(t);
      }
    });
    return done;
  }

  /** Starts (or restarts after {@link #abandon()}) the attempts: the first runs now, on the scheduler. */
  public synchronized void kick() {
    abandoned = false;
    schedule(Duration.ZERO);
  }

  /**
   * The caller waiting for the first value gave up: no more attempts are scheduled, and failures do
   * not schedule new ones until {@link #kick()}, unless a value is held.
   */
  public void abandon() {
    abandoned = true;
    cancel();
  }

  private void onFailure(Throwable t, T cur) {
    lastError = t;
    int n = ++consecutiveFailures;
    state = cur == null
        ? Health.State.STARTING
        : isValid(cur) ? Health.State.DEGRADED : Health.State.EXPIRED;
    Retry retry = outcomes.failed(t, n, cur);
    switch (retry) {
      case STOP -> cancel();
      case REFUSED -> schedule(policy.refusalDelay(n, random.getAsDouble()));
      case BACKOFF -> schedule(policy.retryDelay(n, random.getAsDouble()));
    }
  }

  /**
   * Records a failure seen outside an attempt (a reachability probe): counts it, and degrades health
   * while the current value is valid. Returns the number of consecutive failures.
   */
  public int recordFailure(Throwable t) {
    lastError = t;
    int n = ++consecutiveFailures;
    T cur = current.get();
    if (cur != null) {
      state = isValid(cur) ? Health.State.DEGRADED : Health.State.EXPIRED;
    }
    return n;
  }

  /** Records that the other side answered outside an attempt: failures reset, healthy while valid. */
  public void recordSuccess() {
    consecutiveFailures = 0;
    lastError = null;
    if (isValid(current.get())) {
      state = Health.State.HEALTHY;
    }
  }

  // ---------------------------------------------------------------- scheduling

  /** Replaces the scheduled attempt with one after {@code delay} (none once closed, or abandoned with nothing held). */
  public synchronized void schedule(Duration delay) {
    if (closed || (abandoned && current.get() == null)) {
      return;
    }
    if (scheduled != null) {
      scheduled.cancel(false);
    }
    Duration d = delay.isNegative() ? Duration.ZERO : delay;
    nextRefresh = clock.instant().plus(d);
    scheduled = scheduler.schedule(this::scheduledAttempt, d.toMillis(), TimeUnit.MILLISECONDS);
  }

  private synchronized void cancel() {
    if (scheduled != null) {
      scheduled.cancel(false);
      scheduled = null;
    }
    nextRefresh = null;
  }

  private void scheduledAttempt() {
    try {
      attempt();
    } catch (Throwable t) {
      // attempt() has recorded the failure and scheduled the retry
    }
  }

  private synchronized void watchExpiry(T value) {
    if (closed) {
      return;
    }
    if (expiryWatch != null) {
      expiryWatch.cancel(false);
    }
    long ms =
        Math.max(0, Duration.between(clock.instant(), outcomes.notAfter(value)).toMillis());
    expiryWatch = scheduler.schedule(
        () -> {
          if (current.get() == value && !closed) {
            state = Health.State.EXPIRED;
            outcomes.expired(value);
          }
        },
        ms,
        TimeUnit.MILLISECONDS);
  }

  /** Stops every attempt and watch; idempotent. */
  @Override
  public void close() {
    closed = true;
    state = Health.State.CLOSED;
    synchronized (this) {
      if (scheduled != null) {
        scheduled.cancel(false);
      }
      if (expiryWatch != null) {
        expiryWatch.cancel(false);
      }
    }
  }
}
