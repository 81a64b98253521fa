package dev.machineid.core.internal.renewal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Core's own manual scheduler (core's tests cannot use the testkit's {@code ManualScheduler}, which
 * depends on core): a {@link ScheduledExecutorService} on a clock that stands still until
 * {@link #advance} moves it, running every due task on the calling thread, in order of due time
 * (then submission). Nothing runs in the background, so a test of hours of renewals is
 * deterministic and takes milliseconds. It records every delay it was asked for.
 */
final class StepScheduler extends AbstractExecutorService implements ScheduledExecutorService {
  /** A clock that moves only when the scheduler moves it. */
  static final class StepClock extends Clock {
    private volatile Instant now;

    StepClock(Instant start) {
      this.now = start;
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("UTC only");
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final StepClock clock =
      new StepClock(Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private final List<Duration> delays = new ArrayList<>();
  private long sequence;
  private boolean shutdown;

  Clock clock() {
    return clock;
  }

  Instant now() {
    return clock.instant();
  }

  /** Every delay asked of {@link #schedule}, in order (0 for {@link #execute}). */
  List<Duration> delays() {
    return List.copyOf(delays);
  }

  /** Tasks scheduled and neither run nor cancelled. */
  int pending() {
    return (int) queue.stream().filter(t -> !t.isDone()).count();
  }

  /** Moves the clock forward by {@code by}, running every task due by then on this thread, one due time at a time. */
  void advance(Duration by) {
    Instant target = clock.instant().plus(by);
    while (true) {
      Task<?> head = queue.peek();
      if (head == null || head.due.isAfter(target)) {
        break;
      }
      queue.poll();
      if (head.due.isAfter(clock.now)) {
        clock.now = head.due;
      }
      head.run();
    }
    clock.now = target;
  }

  /** Runs what is due now. */
  void runDue() {
    advance(Duration.ZERO);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return schedule(
        Executors.callable(Objects.requireNonNull(command, "command"), null), delay, unit);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    if (shutdown) {
      throw new RejectedExecutionException("shut down");
    }
    Duration d = Duration.ofNanos(Math.max(0, unit.toNanos(delay)));
    delays.add(d);
    Task<V> t = new Task<>(callable, clock.instant().plus(d), sequence++);
    queue.add(t);
    return t;
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    throw new UnsupportedOperationException("the SDK schedules one-shot tasks only");
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    throw new UnsupportedOperationException("the SDK schedules one-shot tasks only");
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.MILLISECONDS);
  }

  @Override
  public void shutdown() {
    shutdown = true;
  }

  @Override
  public List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> left = new ArrayList<>(queue);
    queue.clear();
    return left;
  }

  @Override
  public boolean isShutdown() {
    return shutdown;
  }

  @Override
  public boolean isTerminated() {
    return shutdown;
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) {
    return shutdown;
  }

  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    private final Instant due;
    private final long seq;

    Task(Callable<V> callable, Instant due, long seq) {
      super(callable);
      this.due = due;
      this.seq = seq;
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      queue.remove(this);
      return super.cancel(mayInterruptIfRunning);
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(Duration.between(clock.instant(), due).toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      Task<?> t = (Task<?>) o;
      int c = due.compareTo(t.due);
      return c != 0 ? c : Long.compare(seq, t.seq);
    }
  }
}
