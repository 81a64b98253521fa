package dev.machineid.benchmarks;

import java.util.Locale;
import javax.net.ssl.SSLSocketFactory;

/**
 * A cross-check for {@link HandshakeRatio} on a machine shared with other work: one JVM, one
 * {@link HandshakeBenchmark} setup, and the two clients alternating handshake by handshake (the
 * order flipping every pair), so background load hits both alike. Not JMH: plain wall-clock sums
 * after a warmup, good for a ratio, not for absolute numbers.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.machineid.benchmarks.InterleavedHandshakes [warmupSeconds] [seconds]
 * </pre>
 */
public final class InterleavedHandshakes {
  private InterleavedHandshakes() {}

  public static void main(String[] args) throws Exception {
    long warmupNanos = (args.length > 0 ? Long.parseLong(args[0]) : 25) * 1_000_000_000L;
    long measureNanos = (args.length > 1 ? Long.parseLong(args[1]) : 40) * 1_000_000_000L;
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    HandshakeBenchmark benchmark = new HandshakeBenchmark();
    benchmark.setUp();
    try {
      SSLSocketFactory machineIdentity = benchmark.machineIdentityClient;
      SSLSocketFactory baseline = benchmark.staticClient;
      long end = System.nanoTime() + warmupNanos;
      while (System.nanoTime() < end) {
        benchmark.handshake(baseline);
        benchmark.handshake(machineIdentity);
      }
      long staticNanos = 0;
      long machineIdentityNanos = 0;
      int pairs = 0;
      end = System.nanoTime() + measureNanos;
      while (System.nanoTime() < end) {
        boolean staticFirst = (pairs & 1) == 0;
        long t0 = System.nanoTime();
        benchmark.handshake(staticFirst ? baseline : machineIdentity);
        long t1 = System.nanoTime();
        benchmark.handshake(staticFirst ? machineIdentity : baseline);
        long t2 = System.nanoTime();
        staticNanos += staticFirst ? t1 - t0 : t2 - t1;
        machineIdentityNanos += staticFirst ? t2 - t1 : t1 - t0;
        pairs++;
      }
      System.out.printf(
          Locale.ROOT,
          "JDK %s: %d pairs; staticKeyManager %.1f ops/s, machineIdentityKeyManager %.1f ops/s, "
              + "ratio machineIdentity / static = %.3f%n",
          System.getProperty("java.runtime.version"),
          pairs,
          pairs / (staticNanos / 1e9),
          pairs / (machineIdentityNanos / 1e9),
          (double) staticNanos / machineIdentityNanos);
    } finally {
      benchmark.tearDown();
    }
  }
}
