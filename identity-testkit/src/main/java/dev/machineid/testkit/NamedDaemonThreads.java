package dev.machineid.testkit;

import java.util.Objects;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Makes daemon threads named {@code <prefix><n>}, numbered from 1 across all instances of a fixture. */
final class NamedDaemonThreads implements ThreadFactory {
  private final String prefix;
  private final AtomicInteger counter;

  NamedDaemonThreads(String prefix, AtomicInteger counter) {
    this.prefix = Objects.requireNonNull(prefix, "prefix");
    this.counter = Objects.requireNonNull(counter, "counter");
  }

  @Override
  public Thread newThread(Runnable task) {
    Thread thread = new Thread(task, prefix + counter.incrementAndGet());
    thread.setDaemon(true);
    return thread;
  }
}
