package dev.machineid.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock that follows real time plus an offset a test can move forward, so validity and expiry can
 * be tested without sleeping while network timeouts and schedules keep running in real time.
 */
public final class MutableClock extends Clock {
  private final AtomicReference<Duration> offset;
  private final ZoneId zone;

  private MutableClock(AtomicReference<Duration> offset, ZoneId zone) {
    this.offset = offset;
    this.zone = zone;
  }

  /** A clock at real time, in UTC. */
  public static MutableClock systemUtc() {
    return new MutableClock(new AtomicReference<>(Duration.ZERO), ZoneOffset.UTC);
  }

  /** Moves this clock (and every clock made from it with {@link #withZone}) forward. */
  public void advance(Duration by) {
    Objects.requireNonNull(by, "by");
    offset.accumulateAndGet(by, Duration::plus);
  }

  public Duration offset() {
    return offset.get();
  }

  @Override
  public ZoneId getZone() {
    return zone;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return new MutableClock(offset, zone);
  }

  @Override
  public Instant instant() {
    return Instant.now().plus(offset.get());
  }
}
