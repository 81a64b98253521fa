package dev.machineid.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.ListStatistics;

/**
 * Runs both {@link HandshakeBenchmark} methods through the JMH Runner API and prints their scores
 * and the ratio {@code machineIdentityKeyManager / staticKeyManager} against the target (0.95).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.machineid.benchmarks.HandshakeRatio
 * java -cp benchmarks/target/benchmarks.jar dev.machineid.benchmarks.HandshakeRatio rounds=4 profilers=gc
 * </pre>
 *
 * <p>Settings, as system properties ({@code -Dbench.forks=2}) or {@code key=value} arguments
 * ({@code forks=2}): {@code forks} (1), {@code warmupIterations} (3), {@code warmupSeconds} (3),
 * {@code measurementIterations} (5), {@code measurementSeconds} (3), {@code rounds} (1),
 * {@code profilers} (comma-separated JMH profiler names, e.g. {@code gc}), {@code jvmArgs} (extra
 * arguments for the forked JVMs, space-separated) and {@code target} (0.95). The forked JVMs use
 * the {@code java} that runs this class.
 *
 * <p>With {@code rounds=1} both methods run in one JMH run. With more rounds each round runs the two
 * methods back to back, alternating which goes first, and the scores pool every measured iteration
 * of every round: on a shared machine, background load then hits both methods alike instead of
 * skewing whichever happened to run during a busy minute. Exits 0 whatever the ratio; the verdict
 * is printed.
 */
public final class HandshakeRatio {

  private static final String MACHINE_IDENTITY = "machineIdentityKeyManager";
  private static final String STATIC = "staticKeyManager";
  private static final String ALLOCATION = "gc.alloc.rate.norm";

  private HandshakeRatio() {}

  public static void main(String[] args) throws RunnerException {
    for (String arg : args) {
      int eq = arg.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("expected key=value (e.g. forks=2), got '" + arg + "'");
      }
      String key = arg.substring(0, eq);
      System.setProperty(key.startsWith("bench.") ? key : "bench." + key, arg.substring(eq + 1));
    }
    int forks = intSetting("forks", 1, 1);
    int warmupIterations = intSetting("warmupIterations", 3, 0);
    int warmupSeconds = intSetting("warmupSeconds", 3, 1);
    int measurementIterations = intSetting("measurementIterations", 5, 1);
    int measurementSeconds = intSetting("measurementSeconds", 3, 1);
    int rounds = intSetting("rounds", 1, 1);
    double target = Double.parseDouble(System.getProperty("bench.target", "0.95"));

    Map<String, Pooled> pooled = new LinkedHashMap<>();
    pooled.put(MACHINE_IDENTITY, new Pooled());
    pooled.put(STATIC, new Pooled());
    List<Double> roundRatios = new ArrayList<>();
    for (int round = 0; round < rounds; round++) {
      Collection<RunResult> results = new ArrayList<>();
      if (rounds == 1) {
        results.addAll(new Runner(options(
                MACHINE_IDENTITY + "|" + STATIC,
                forks,
                warmupIterations,
                warmupSeconds,
                measurementIterations,
                measurementSeconds))
            .run());
      } else {
        List<String> order =
            round % 2 == 0 ? List.of(MACHINE_IDENTITY, STATIC) : List.of(STATIC, MACHINE_IDENTITY);
        for (String method : order) {
          results.addAll(new Runner(options(
                  method,
                  forks,
                  warmupIterations,
                  warmupSeconds,
                  measurementIterations,
                  measurementSeconds))
              .run());
        }
      }
      for (Map.Entry<String, Pooled> entry : pooled.entrySet()) {
        entry.getValue().add(find(results, entry.getKey()));
      }
      roundRatios.add(find(results, MACHINE_IDENTITY).getPrimaryResult().getScore()
          / find(results, STATIC).getPrimaryResult().getScore());
    }

    Pooled mi = pooled.get(MACHINE_IDENTITY);
    Pooled base = pooled.get(STATIC);
    double ratio = mi.scores.getMean() / base.scores.getMean();
    double relativeError = Math.sqrt(
        square(mi.error() / mi.scores.getMean()) + square(base.error() / base.scores.getMean()));

    System.out.println();
    System.out.println("JDK: " + System.getProperty("java.vm.vendor") + " "
        + System.getProperty("java.runtime.version")
        + " (" + System.getProperty("java.vm.name") + "), "
        + Runtime.getRuntime().availableProcessors() + " CPUs, "
        + System.getProperty("os.name") + " " + System.getProperty("os.arch"));
    System.out.println("Settings: rounds=" + rounds + ", forks=" + forks + ", warmup="
        + warmupIterations + "x" + warmupSeconds + "s, measurement=" + measurementIterations + "x"
        + measurementSeconds + "s");
    System.out.println(mi.line(MACHINE_IDENTITY));
    System.out.println(base.line(STATIC));
    if (rounds > 1) {
      StringBuilder perRound = new StringBuilder("ratio per round:");
      for (double r : roundRatios) {
        perRound.append(String.format(Locale.ROOT, " %.3f", r));
      }
      System.out.println(perRound);
    }
    System.out.printf(
        Locale.ROOT,
        "ratio machineIdentity / static = %.3f ± %.3f (target >= %.2f): %s%n",
        ratio,
        ratio * relativeError,
        target,
        ratio >= target ? "MEETS TARGET" : "BELOW TARGET");
    if (mi.totalCpuMicros.getN() > 0 && base.totalCpuMicros.getN() > 0) {
      double cpuRatio = base.totalCpuMicros.getMean() / mi.totalCpuMicros.getMean();
      double cpuRelativeError =
          Math.sqrt(square(errorOf(mi.totalCpuMicros) / mi.totalCpuMicros.getMean())
              + square(errorOf(base.totalCpuMicros) / base.totalCpuMicros.getMean()));
      System.out.printf(
          Locale.ROOT,
          "CPU-based ratio (static CPU/handshake / machineIdentity CPU/handshake) = %.3f ± %.3f%n",
          cpuRatio,
          cpuRatio * cpuRelativeError);
    }
  }

  private static Options options(
      String methods,
      int forks,
      int warmupIterations,
      int warmupSeconds,
      int measurementIterations,
      int measurementSeconds) {
    ChainedOptionsBuilder options = new OptionsBuilder()
        .include(HandshakeBenchmark.class.getName().replace(".", "\\.") + "\\.(" + methods + ")$")
        .forks(forks)
        .warmupIterations(warmupIterations)
        .warmupTime(TimeValue.seconds(warmupSeconds))
        .measurementIterations(measurementIterations)
        .measurementTime(TimeValue.seconds(measurementSeconds))
        .timeUnit(TimeUnit.SECONDS)
        .shouldFailOnError(true);
    String jvmArgs = System.getProperty("bench.jvmArgs", "").trim();
    if (!jvmArgs.isEmpty()) {
      options.jvmArgsAppend(jvmArgs.split("\\s+"));
    }
    for (String profiler : System.getProperty("bench.profilers", "").split(",")) {
      if (!profiler.isBlank()) {
        options.addProfiler(profiler.trim());
      }
    }
    return options.build();
  }

  private static RunResult find(Collection<RunResult> results, String method) {
    for (RunResult result : results) {
      if (result.getParams().getBenchmark().endsWith("." + method)) {
        return result;
      }
    }
    throw new IllegalStateException(
        "JMH returned no result for " + method + "; got " + results.size() + " results");
  }

  /** Every measured iteration of one method, over all forks and rounds. */
  private static final class Pooled {
    final ListStatistics scores = new ListStatistics();
    final ListStatistics allocation = new ListStatistics();
    final ListStatistics clientCpuMicros = new ListStatistics();
    final ListStatistics totalCpuMicros = new ListStatistics();
    String unit = "ops/s";

    void add(RunResult run) {
      unit = run.getPrimaryResult().getScoreUnit();
      for (BenchmarkResult fork : run.getBenchmarkResults()) {
        for (IterationResult iteration : fork.getIterationResults()) {
          scores.addValue(iteration.getPrimaryResult().getScore());
          Result<?> bytes = secondary(iteration, ALLOCATION);
          if (bytes != null) {
            allocation.addValue(bytes.getScore());
          }
          Result<?> handshakes = secondary(iteration, "handshakes");
          Result<?> client = secondary(iteration, "clientCpuNanos");
          Result<?> server = secondary(iteration, "serverCpuNanos");
          if (handshakes != null && client != null && server != null && handshakes.getScore() > 0) {
            double n = handshakes.getScore();
            clientCpuMicros.addValue(client.getScore() / n / 1000);
            totalCpuMicros.addValue((client.getScore() + server.getScore()) / n / 1000);
          }
        }
      }
    }

    double error() {
      return errorOf(scores);
    }

    String line(String name) {
      String text = String.format(
          Locale.ROOT,
          "%-26s %8.1f ± %6.1f %s (99.9%% CI, n=%d iterations)",
          name,
          scores.getMean(),
          error(),
          unit,
          scores.getN());
      if (totalCpuMicros.getN() > 0) {
        text += String.format(
            Locale.ROOT,
            "; CPU/handshake client %.0f ± %.0f us, client+server %.0f ± %.0f us",
            clientCpuMicros.getMean(),
            errorOf(clientCpuMicros),
            totalCpuMicros.getMean(),
            errorOf(totalCpuMicros));
      }
      if (allocation.getN() > 0) {
        text += String.format(Locale.ROOT, "; %.0f B/op allocated", allocation.getMean());
      }
      return text;
    }
  }

  private static Result<?> secondary(IterationResult iteration, String name) {
    return iteration.getSecondaryResults().get(name);
  }

  private static double errorOf(ListStatistics statistics) {
    return statistics.getN() > 2 ? statistics.getMeanErrorAt(0.999) : Double.NaN;
  }

  private static double square(double x) {
    return x * x;
  }

  private static int intSetting(String name, int defaultValue, int min) {
    String value = System.getProperty("bench." + name);
    if (value == null || value.isBlank()) {
      return defaultValue;
    }
    int parsed;
    try {
      parsed = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "bench." + name + " must be an integer, got '" + value + "'", e);
    }
    if (parsed < min) {
      throw new IllegalArgumentException(
          "bench." + name + " must be at least " + min + ", got " + parsed);
    }
    return parsed;
  }
}
