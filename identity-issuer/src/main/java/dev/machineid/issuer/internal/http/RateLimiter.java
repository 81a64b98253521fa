package dev.machineid.issuer.internal.http;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * A token bucket per client address: {@code burst} calls at once, refilled at {@code perSecond}.
 * Buckets idle long enough to be full again are dropped when the table grows, so that a scan from
 * many addresses cannot grow memory without bound.
 */
public final class RateLimiter {
  private static final int MAX_TRACKED = 10_000;

  private final double perSecond;
  private final int burst;
  private final LongSupplier nanoTime;
  private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

  private static final class Bucket {
    double tokens;
    long updated;

    Bucket(double tokens, long updated) {
      this.tokens = tokens;
      this.updated = updated;
    }
  }

  public RateLimiter(double perSecond, int burst, LongSupplier nanoTime) {
    this.perSecond = perSecond;
    this.burst = burst;
    this.nanoTime = nanoTime;
  }

  /**
   * Takes one token for {@code address}.
   *
   * @return 0 if allowed, else the whole seconds (at least 1) after which a call would be allowed
   */
  public long acquire(String address) {
    long now = nanoTime.getAsLong();
    if (buckets.size() > MAX_TRACKED) {
      evictFull(now);
    }
    long[] wait = new long[1];
    buckets.compute(address, (k, b) -> {
      if (b == null) {
        b = new Bucket(burst, now);
      }
      // a clock set back refills nothing (it never takes tokens away)
      b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.updated) / 1e9 * perSecond);
      b.updated = now;
      if (b.tokens >= 1) {
        b.tokens -= 1;
      } else {
        wait[0] = Math.max(1, (long) Math.ceil((1 - b.tokens) / perSecond));
      }
      return b;
    });
    return wait[0];
  }

  private void evictFull(long now) {
    double refill = burst / perSecond * 1e9;
    buckets.entrySet().removeIf(e -> now - e.getValue().updated > refill);
  }
}
