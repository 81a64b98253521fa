package dev.machineid.testkit;

import java.time.Duration;
import java.time.Instant;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link ScheduledExecutorService} whose delays are measured on a {@link MutableClock}: a task is
 * due when the clock reaches its time, so a test moves a schedule of hours forward with
 * {@link #advance(Duration)} instead of waiting. Due tasks run one at a time, in order of due time
 * (then submission), on one daemon thread named {@code machineid-testkit-scheduler-<n>}; because the
 * clock also follows real time, short delays (a retry after 200 ms) still pass on their own.
 *
 * <pre>{@code
 * MutableClock clock = MutableClock.systemUtc();
 * try (ManualScheduler scheduler = ManualScheduler.on(clock);
 *      MachineIdentity id = builder.clock(clock).executor(scheduler).build()) {
 *   id.start();
 *   scheduler.advance(Duration.ofMinutes(31));   // every renewal due by then has run on return
 * }
 * }</pre>
 *
 * <p>{@link #close()} (or {@code shutdownNow()}) drops pending tasks; it is idempotent.
 */
public final class ManualScheduler extends AbstractExecutorService
    implements ScheduledExecutorService, AutoCloseable {
  private static final AtomicInteger THREADS = new AtomicInteger();
  private final MutableClock clock;
  private final PriorityQueue<Task<?>> queue = new PriorityQueue<>();
  private final AtomicLong sequence = new AtomicLong();
  private final Thread worker;
  private boolean running;
  private boolean shutdown;

  private ManualScheduler(MutableClock clock) {
    this.clock = clock;
    this.worker =
        new NamedDaemonThreads("machineid-testkit-scheduler-", THREADS).newThread(this::loop);
    worker.start();
  }

  /** A scheduler on {@code clock}. */
  public static ManualScheduler on(MutableClock clock) {
    return new ManualScheduler(Objects.requireNonNull(clock, "clock"));
  }

  public MutableClock clock() {
    return clock;
  }

  /**
   * Moves the clock forward by {@code by}, one due time at a time, and returns once every task due by
   * then (including those the tasks scheduled on the way) has run.
   */
  public void advance(Duration by) throws InterruptedException {
    Objects.requireNonNull(by, "by");
    Instant target = clock.instant().plus(by);
    while (true) {
      Instant next;
      synchronized (this) {
        Task<?> head = queue.peek();
        next = head == null ? null : head.due;
      }
      if (next == null || next.isAfter(target)) {
        break;
      }
      Duration step = Duration.between(clock.instant(), next);
      if (!step.isNegative()) {
        clock.advance(step);
      }
      awaitIdle();
    }
    Duration rest = Duration.between(clock.instant(), target);
    if (!rest.isNegative()) {
      clock.advance(rest);
    }
    awaitIdle();
  }

  /** Waits until no task is due and none is running. */
  public synchronized void awaitIdle() throws InterruptedException {
    notifyAll();
    while (!shutdown && (running || dueHead())) {
      wait(20);
    }
  }

  /** Tasks not yet run (cancelled ones excluded). */
  public synchronized int pending() {
    return (int) queue.stream().filter(t -> !t.isCancelled()).count();
  }

  private boolean dueHead() {
    Task<?> head = queue.peek();
    return head != null && !head.due.isAfter(clock.instant());
  }

  private void loop() {
    while (true) {
      Task<?> task;
      synchronized (this) {
        try {
          while (!shutdown && !dueHead()) {
            Task<?> head = queue.peek();
            long ms = head == null
                ? 50
                : Math.max(
                    1, Math.min(50, Duration.between(clock.instant(), head.due).toMillis()));
            wait(ms);
          }
        } catch (InterruptedException e) {
          return;
        }
        if (shutdown) {
          return;
        }
        task = queue.poll();
        running = true;
      }
      try {
        task.runOnce();
      } finally {
        synchronized (this) {
          running = false;
          notifyAll();
        }
      }
    }
  }

  private synchronized <V> Task<V> enqueue(Task<V> t) {
    if (shutdown) {
      throw new RejectedExecutionException("the scheduler is shut down");
    }
    queue.add(t);
    notifyAll();
    return t;
  }

  private synchronized void remove(Task<?> t) {
    queue.remove(t);
  }

  @Override
  public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
    return schedule(
        Executors.callable(Objects.requireNonNull(command, "command"), null), delay, unit);
  }

  @Override
  public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
    return enqueue(
        new Task<>(callable, clock.instant().plusNanos(Math.max(0, unit.toNanos(delay))), 0));
  }

  @Override
  public ScheduledFuture<?> scheduleAtFixedRate(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    return schedulePeriodic(command, initialDelay, period, unit);
  }

  @Override
  public ScheduledFuture<?> scheduleWithFixedDelay(
      Runnable command, long initialDelay, long delay, TimeUnit unit) {
    return schedulePeriodic(command, initialDelay, delay, unit);
  }

  private ScheduledFuture<?> schedulePeriodic(
      Runnable command, long initialDelay, long period, TimeUnit unit) {
    if (period <= 0) {
      throw new IllegalArgumentException("period must be positive");
    }
    return enqueue(new Task<>(
        Executors.callable(command, null),
        clock.instant().plusNanos(Math.max(0, unit.toNanos(initialDelay))),
        unit.toNanos(period)));
  }

  @Override
  public void execute(Runnable command) {
    schedule(command, 0, TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void shutdown() {
    shutdown = true;
    notifyAll();
  }

  @Override
  public synchronized List<Runnable> shutdownNow() {
    shutdown = true;
    List<Runnable> left = new ArrayList<>(queue);
    queue.clear();
    notifyAll();
    return left;
  }

  @Override
  public synchronized boolean isShutdown() {
    return shutdown;
  }

  @Override
  public boolean isTerminated() {
    return isShutdown() && !worker.isAlive();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    worker.join(Math.max(1, unit.toMillis(timeout)));
    return !worker.isAlive();
  }

  @Override
  public void close() {
    shutdownNow();
  }

  private final class Task<V> extends FutureTask<V> implements ScheduledFuture<V> {
    private volatile Instant due;
    private final long periodNanos;
    private final long seq = sequence.incrementAndGet();

    Task(Callable<V> callable, Instant due, long periodNanos) {
      super(callable);
      this.due = due;
      this.periodNanos = periodNanos;
    }

    void runOnce() {
      if (periodNanos == 0) {
        run();
      } else if (runAndReset()) {
        due = due.plusNanos(periodNanos);
        try {
          enqueue(this);
        } catch (RejectedExecutionException shutDown) {
          cancel(false);
        }
      }
    }

    @Override
    public boolean cancel(boolean mayInterruptIfRunning) {
      boolean c = super.cancel(mayInterruptIfRunning);
      remove(this);
      return c;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(Duration.between(clock.instant(), due).toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed o) {
      if (o instanceof ManualScheduler.Task<?> t) {
        int c = due.compareTo(t.due);
        return c != 0 ? c : Long.compare(seq, t.seq);
      }
      return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
    }
  }
}
