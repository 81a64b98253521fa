package dev.machineid.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A clock a test moves forward by hand. {@link #systemUtc()} follows real time plus an offset, so
 * validity and expiry can be tested without sleeping while network timeouts and schedules keep
 * running in real time; {@link #stoppedAt(Instant)} and {@link #stopped()} stand still between
 * {@link #advance} calls, for tests that compare exact times.
 */
public final class MutableClock extends Clock {
  private final AtomicReference<Duration> offset;
  private final Instant stoppedAt;
  private final ZoneId zone;

  private MutableClock(AtomicReference<Duration> offset, Instant stoppedAt, ZoneId zone) {
    this.offset = offset;
    this.stoppedAt = stoppedAt;
    this.zone = zone;
  }

  /** A clock at real time, in UTC. */
  public static MutableClock systemUtc() {
    return new MutableClock(new AtomicReference<>(Duration.ZERO), null, ZoneOffset.UTC);
  }

  /** A clock standing at {@code start}, in UTC, that moves only by {@link #advance}. */
  public static MutableClock stoppedAt(Instant start) {
    return new MutableClock(
        new AtomicReference<>(Duration.ZERO),
        Objects.requireNonNull(start, "start"),
        ZoneOffset.UTC);
  }

  /**
   * A clock standing at the current time in whole microseconds (as the issuer's store keeps times),
   * in UTC, that moves only by {@link #advance}.
   */
  public static MutableClock stopped() {
    return stoppedAt(Instant.now().truncatedTo(ChronoUnit.MICROS));
  }

  /** Moves this clock (and every clock made from it with {@link #withZone}) forward. */
  public void advance(Duration by) {
    Objects.requireNonNull(by, "by");
    offset.accumulateAndGet(by, Duration::plus);
  }

  /** How far this clock has been moved. */
  public Duration offset() {
    return offset.get();
  }

  @Override
  public ZoneId getZone() {
    return zone;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return new MutableClock(offset, stoppedAt, zone);
  }

  @Override
  public Instant instant() {
    return (stoppedAt != null ? stoppedAt : Instant.now()).plus(offset.get());
  }
}
