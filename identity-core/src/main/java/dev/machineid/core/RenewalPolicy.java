package dev.machineid.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

/**
 * When to renew and how to retry. By default the identity is renewed at a uniformly random point
 * between a third and a half of its lifetime (20 to 30 min for 1 h), and never later than the
 * issuer's {@code renew_after}; with a fixed {@link Builder#interval interval}, at that interval minus
 * up to 10 % random jitter. Failures are retried with capped exponential backoff and full jitter;
 * refusals that retrying cannot fix ({@code bot_locked}, {@code token_consumed}, …) back off further,
 * up to {@link #refusalRetryDelay()} (default 5 min). The random window keeps a fleet that renewed
 * together (after an outage, say) from renewing together again.
 */
public final class RenewalPolicy {
  private final Duration interval;
  private final double jitter;
  private final Duration retryBaseDelay;
  private final Duration retryMaxDelay;
  private final Duration refusalRetryDelay;

  private RenewalPolicy(Builder b) {
    this.interval = b.interval;
    this.jitter = b.jitter;
    this.retryBaseDelay = b.retryBaseDelay;
    this.retryMaxDelay = b.retryMaxDelay;
    this.refusalRetryDelay = b.refusalRetryDelay;
    if (retryMaxDelay.compareTo(retryBaseDelay) < 0) {
      throw new IllegalArgumentException(
          "retryMaxDelay " + retryMaxDelay + " is below retryBaseDelay " + retryBaseDelay);
    }
  }

  public static RenewalPolicy defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The fixed interval, or {@code null} for a third of the certificate's lifetime. */
  public Duration interval() {
    return interval;
  }

  public double jitter() {
    return jitter;
  }

  public Duration retryBaseDelay() {
    return retryBaseDelay;
  }

  public Duration retryMaxDelay() {
    return retryMaxDelay;
  }

  /** The ceiling of the backoff after a refusal that retrying cannot fix; at least {@link #retryMaxDelay()}. */
  public Duration refusalRetryDelay() {
    return refusalRetryDelay.compareTo(retryMaxDelay) < 0 ? retryMaxDelay : refusalRetryDelay;
  }

  /**
   * The delay before renewing a certificate that lives {@code ttl}, for a uniform {@code random} in
   * [0, 1): between a third and a half of {@code ttl} by default; with a fixed interval, that interval
   * minus up to {@link #jitter()} of it.
   */
  public Duration renewalDelay(Duration ttl, double random) {
    if (interval == null || interval.compareTo(ttl) >= 0) {
      long third = ttl.toMillis() / 3;
      long half = ttl.toMillis() / 2;
      return Duration.ofMillis(third + (long) ((half - third) * random));
    }
    return Duration.ofMillis((long) (interval.toMillis() * (1 - jitter * random)));
  }

  /**
   * The delay from {@code now} before refreshing a credential valid until {@code notAfter}: the
   * {@link #renewalDelay renewal delay} of the lifetime left, for a uniform {@code random} in [0, 1),
   * and never later than {@code renewAfter} (the issuer's own spread), if given. Pass the issuer's
   * {@code server_time} as {@code now} when the answer carries one, so clock skew does not move the
   * window.
   */
  public Duration refreshDelay(Instant now, Instant notAfter, Instant renewAfter, double random) {
    Objects.requireNonNull(now, "now");
    Objects.requireNonNull(notAfter, "notAfter");
    Duration ttl = Duration.between(now, notAfter);
    Duration delay = renewalDelay(ttl.isNegative() ? Duration.ZERO : ttl, random);
    if (renewAfter != null) {
      Duration cap = Duration.between(now, renewAfter);
      if (cap.compareTo(delay) < 0) {
        delay = cap;
      }
    }
    return delay;
  }

  /**
   * The delay before retry number {@code attempt} (1-based) after a refusal that retrying cannot fix
   * (a lock, a spent token): from {@link #retryMaxDelay()} doubling up to {@link #refusalRetryDelay()},
   * with full jitter above the floor, so a lifted lock is noticed within the ceiling.
   */
  public Duration refusalDelay(int attempt, double random) {
    long base = retryMaxDelay.toMillis();
    long cap = refusalRetryDelay().toMillis();
    long exp = base;
    for (int i = 1; i < attempt && exp < cap; i++) {
      exp *= 2;
    }
    exp = Math.min(exp, cap);
    return Duration.ofMillis(base + (long) ((exp - base) * random));
  }

  /** The earliest planned delay before renewing a certificate that lives {@code ttl}, before the random window. */
  public Duration baseDelay(Duration ttl) {
    Duration third = ttl.dividedBy(3);
    if (interval == null || interval.compareTo(ttl) >= 0) {
      return third;
    }
    return interval;
  }

  /**
   * The delay before retry number {@code attempt} (1-based): uniformly random between the base
   * delay and {@code min(max, base * 2^(attempt-1))} — full jitter above a floor, so attempts
   * over any window are bounded by {@code window / base + 1}.
   */
  public Duration retryDelay(int attempt, double random) {
    long base = retryBaseDelay.toMillis();
    long cap = retryMaxDelay.toMillis();
    long exp = base;
    for (int i = 1; i < attempt && exp < cap; i++) {
      exp *= 2;
    }
    exp = Math.min(exp, cap);
    return Duration.ofMillis(base + (long) ((exp - base) * random));
  }

  public static final class Builder {
    private Duration interval;
    private double jitter = 0.10;
    private Duration retryBaseDelay = Duration.ofSeconds(1);
    private Duration retryMaxDelay = Duration.ofMinutes(1);
    private Duration refusalRetryDelay = Duration.ofMinutes(5);

    private Builder() {}

    /** A fixed renewal interval; capped to a third of the lifetime if it is not shorter than the lifetime. */
    public Builder interval(Duration interval) {
      Objects.requireNonNull(interval, "interval");
      if (interval.isNegative() || interval.isZero()) {
        throw new IllegalArgumentException("renewal interval must be positive, got " + interval);
      }
      this.interval = interval;
      return this;
    }

    /** Fraction of the delay removed at random, 0 to 0.5; default 0.1. */
    public Builder jitter(double jitter) {
      if (!(jitter >= 0 && jitter <= 0.5)) {
        throw new IllegalArgumentException("jitter must be within [0, 0.5], got " + jitter);
      }
      this.jitter = jitter;
      return this;
    }

    public Builder retryBaseDelay(Duration d) {
      Objects.requireNonNull(d, "retryBaseDelay");
      if (d.toMillis() < 1) {
        throw new IllegalArgumentException("retryBaseDelay must be at least 1 ms, got " + d);
      }
      this.retryBaseDelay = d;
      return this;
    }

    public Builder retryMaxDelay(Duration d) {
      Objects.requireNonNull(d, "retryMaxDelay");
      if (d.toMillis() < 1) {
        throw new IllegalArgumentException("retryMaxDelay must be at least 1 ms, got " + d);
      }
      this.retryMaxDelay = d;
      return this;
    }

    /**
     * The ceiling of the backoff after a refusal that retrying cannot fix ({@code bot_locked},
     * {@code token_consumed}, {@code role_denied}, …); default 5 min. A lifted lock is noticed at the
     * next attempt, so at most this long after it is lifted.
     */
    public Builder refusalRetryDelay(Duration d) {
      Objects.requireNonNull(d, "refusalRetryDelay");
      if (d.toMillis() < 1) {
        throw new IllegalArgumentException("refusalRetryDelay must be at least 1 ms, got " + d);
      }
      this.refusalRetryDelay = d;
      return this;
    }

    public RenewalPolicy build() {
      return new RenewalPolicy(this);
    }
  }
}
