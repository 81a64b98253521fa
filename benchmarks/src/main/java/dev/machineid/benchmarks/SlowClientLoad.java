package dev.machineid.benchmarks;

import dev.machineid.issuer.Issuer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Legitimate renewals per second without and with {@code slow} unauthenticated clients that each
 * open a TLS connection, send the head of a {@code POST /v1/renew} promising a 4 KiB body, and then
 * trickle that body one byte every {@code interval} (the slowloris pattern; default 250 clients, a
 * byte every 2 s). A slow client whose connection is closed opens a new one after one interval, as
 * an attacker would. The issuer is embedded in this JVM with the settings of {@code issuer serve}
 * (request time limit 10 s, idle timeout 30 s) and no rate limit unless {@code rateLimit=} is given
 * ({@code per_second:burst}), so what is measured is the cost of the connections themselves.
 *
 * <p>Renewals run on {@code threads} client threads (default 8), each renewal a new mTLS
 * connection as in {@link IssuerLoad}. After {@code warmup} seconds of renewals (default 20), it
 * measures {@code rounds} rounds (default 3) of {@code seconds} each (default 15), without slow
 * clients and with them, the order flipping every round. It prints both rates (medians of the
 * rounds), the ratio with / without, renewals that failed, and what happened to the slow
 * clients' requests (answered before their body was read, or cut off without an answer).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.machineid.benchmarks.SlowClientLoad slow=250 interval=2
 * </pre>
 */
public final class SlowClientLoad {
  private SlowClientLoad() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>(Map.of(
        "slow",
        "250",
        "interval",
        "2",
        "threads",
        "8",
        "seconds",
        "15",
        "rounds",
        "3",
        "warmup",
        "20",
        "rateLimit",
        ""));
    for (String s : args) {
      int eq = s.indexOf('=');
      if (eq > 0) {
        a.put(s.substring(0, eq), s.substring(eq + 1));
      }
    }
    int slow = Integer.parseInt(a.get("slow"));
    Duration interval = Duration.ofSeconds(Long.parseLong(a.get("interval")));
    int threads = Integer.parseInt(a.get("threads"));
    Duration run = Duration.ofSeconds(Long.parseLong(a.get("seconds")));
    int rounds = Integer.parseInt(a.get("rounds"));
    Issuer.Builder b = Issuer.builder()
        .trustDomain("bench.test")
        .requestTimeout(Duration.ofSeconds(10))
        .idleTimeout(Duration.ofSeconds(30));
    if (!a.get("rateLimit").isEmpty()) {
      String[] rl = a.get("rateLimit").split(":");
      b.rateLimit(Double.parseDouble(rl[0]), Integer.parseInt(rl[1]));
    }
    try (Issuer issuer = b.build().start()) {
      issuer.bots().create("bench");
      IssuerLoad.Target t =
          new IssuerLoad.Target("127.0.0.1", issuer.port(), issuer.authorityCertificate());
      ConcurrentLinkedQueue<IssuerLoad.Bot> idle = new ConcurrentLinkedQueue<>();
      for (int i = 0; i < threads; i++) {
        idle.add(IssuerLoad.join(t, issuer.tokens().create("bench", Duration.ofHours(1))));
      }
      AtomicLong failed = new AtomicLong();
      Runnable renew = () -> {
        IssuerLoad.Bot bot = idle.poll();
        try {
          bot.renew(t);
        } catch (RuntimeException e) {
          failed.incrementAndGet();
        } finally {
          idle.add(bot);
        }
      };
      System.err.println("warm-up: " + a.get("warmup") + " s of renewals");
      rate(threads, Duration.ofSeconds(Long.parseLong(a.get("warmup"))), renew);
      failed.set(0);
      double[] without = new double[rounds];
      double[] with = new double[rounds];
      long failedWithout = 0;
      long failedWith = 0;
      Slowloris attack = new Slowloris(issuer, slow, interval);
      for (int round = 0; round < rounds; round++) {
        for (int half = 0; half < 2; half++) {
          boolean attacked = (half == 0) == (round % 2 == 1);
          if (attacked) {
            attack.start();
            attack.awaitConnected(Duration.ofSeconds(60));
            System.err.printf(
                "round %d: %d slow connections open (load average %s)%n",
                round + 1, attack.open.get(), loadAverage());
            failed.set(0);
            Thread sampler = attack.sampler();
            with[round] = rate(threads, run, renew);
            sampler.interrupt();
            sampler.join();
            failedWith += failed.get();
            attack.stop();
          } else {
            failed.set(0);
            without[round] = rate(threads, run, renew);
            failedWithout += failed.get();
          }
        }
        System.err.printf(
            "round %d: renewals/s without %.1f, with %d slow clients %.1f, ratio %.2f%n",
            round + 1, without[round], slow, with[round], with[round] / without[round]);
      }
      double w = IssuerLoad.median(without);
      double s = IssuerLoad.median(with);
      double[] ratios = new double[rounds];
      for (int i = 0; i < rounds; i++) {
        ratios[i] = with[i] / without[i];
      }
      System.out.printf(
          "jdk=%s threads=%d rounds=%d seconds_per_round=%d slow_clients=%d trickle_interval_s=%d rate_limit=%s load_average_at_end=%s%n"
              + "slow_connections_open_while_measuring=%.0f (mean of samples every 0.5 s)%n"
              + "renewals_per_s_without_slow_clients=%.1f (rounds: %s)%n"
              + "renewals_per_s_with_slow_clients=%.1f (rounds: %s)%n"
              + "ratio_with_to_without=%.2f (median of the rounds' ratios: %s)%n"
              + "renewals_failed: without %d, with %d%n"
              + "slow_requests: %d sent, %d answered before their body was read (%s), %d cut off without an answer%n",
          System.getProperty("java.version"),
          threads,
          rounds,
          run.toSeconds(),
          slow,
          interval.toSeconds(),
          a.get("rateLimit").isEmpty() ? "none" : a.get("rateLimit"),
          loadAverage(),
          attack.meanOpen(),
          w,
          list(without),
          s,
          list(with),
          IssuerLoad.median(ratios),
          list(ratios),
          failedWithout,
          failedWith,
          attack.sent.get(),
          attack.answered.get(),
          attack.statuses(),
          attack.cut.get());
    }
  }

  private static String loadAverage() {
    try {
      return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg"))
          .split(" ")[0];
    } catch (IOException | RuntimeException e) {
      return "-";
    }
  }

  private static String list(double[] v) {
    StringBuilder sb = new StringBuilder();
    for (double d : v) {
      sb.append(sb.length() == 0 ? "" : ", ").append(String.format("%.2f", d));
    }
    return sb.toString();
  }

  private static double rate(int threads, Duration d, Runnable op) throws InterruptedException {
    AtomicLong count = new AtomicLong();
    long end = System.nanoTime() + d.toNanos();
    List<Thread> ts = new ArrayList<>();
    long start = System.nanoTime();
    for (int i = 0; i < threads; i++) {
      Thread th = new Thread(
          () -> {
            while (System.nanoTime() < end) {
              op.run();
              count.incrementAndGet();
            }
          },
          "renewals-" + i);
      th.start();
      ts.add(th);
    }
    for (Thread th : ts) {
      th.join();
    }
    return count.get() / ((System.nanoTime() - start) / 1e9);
  }

  /** {@code n} threads, each keeping one trickling connection open, reopening it when it is closed. */
  static final class Slowloris {
    private final Issuer issuer;
    private final int n;
    private final Duration interval;
    private final SSLContext ctx;
    final AtomicInteger open = new AtomicInteger();
    final AtomicLong sent = new AtomicLong();
    final AtomicLong answered = new AtomicLong();
    final AtomicLong cut = new AtomicLong();
    private final Map<String, AtomicLong> byStatus = new java.util.concurrent.ConcurrentHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicBoolean running = new AtomicBoolean();

    Slowloris(Issuer issuer, int n, Duration interval) throws Exception {
      this.issuer = issuer;
      this.n = n;
      this.interval = interval;
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", issuer.authorityCertificate());
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
    }

    private final AtomicLong openSamples = new AtomicLong();
    private final AtomicLong samples = new AtomicLong();

    /** A thread that samples how many slow connections are open, every 0.5 s until interrupted. */
    Thread sampler() {
      Thread t = new Thread(
          () -> {
            while (!Thread.currentThread().isInterrupted()) {
              openSamples.addAndGet(open.get());
              samples.incrementAndGet();
              try {
                Thread.sleep(500);
              } catch (InterruptedException e) {
                return;
              }
            }
          },
          "slow-client-sampler");
      t.setDaemon(true);
      t.start();
      return t;
    }

    double meanOpen() {
      return samples.get() == 0 ? 0 : (double) openSamples.get() / samples.get();
    }

    String statuses() {
      return byStatus.isEmpty() ? "-" : new java.util.TreeMap<>(byStatus).toString();
    }

    void start() {
      running.set(true);
      for (int i = 0; i < n; i++) {
        long delay = interval.toMillis() * i / n;
        Thread th = new Thread(
            () -> {
              try {
                // spread the first connections over one interval, as independent clients would
                // arrive
                Thread.sleep(delay);
              } catch (InterruptedException e) {
                return;
              }
              loop();
            },
            "slow-client-" + i);
        th.setDaemon(true);
        th.start();
        threads.add(th);
      }
    }

    void awaitConnected(Duration limit) throws InterruptedException {
      long end = System.nanoTime() + limit.toNanos();
      while (open.get() < n && System.nanoTime() < end) {
        Thread.sleep(100);
      }
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread th : threads) {
        th.interrupt();
      }
      for (Thread th : threads) {
        th.join();
      }
      threads.clear();
    }

    private void loop() {
      while (running.get()) {
        try (SSLSocket s =
            (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", issuer.port())) {
          s.setSoTimeout(30_000);
          s.startHandshake();
          // from now on a read only polls for the issuer's answer or its closing the connection
          s.setSoTimeout(50);
          open.incrementAndGet();
          try {
            trickle(s);
          } finally {
            open.decrementAndGet();
          }
        } catch (IOException e) {
          // refused or reset: try again after one interval
        } catch (InterruptedException e) {
          return;
        }
        try {
          Thread.sleep(interval.toMillis());
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    /** Sends the head, then a byte per interval until the issuer closes the connection or the run ends. */
    private void trickle(SSLSocket s) throws IOException, InterruptedException {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      out.write(
          ("POST /v1/renew HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      sent.incrementAndGet();
      StringBuilder answer = new StringBuilder();
      boolean counted = false;
      while (running.get()) {
        try {
          int c;
          while ((c = in.read()) != -1) {
            if (answer.length() < 12) {
              answer.append((char) c);
            }
            if (!counted && answer.length() == 12) {
              counted = true;
              answered.incrementAndGet();
              byStatus
                  .computeIfAbsent(answer.substring(9, 12), k -> new AtomicLong())
                  .incrementAndGet();
            }
          }
          break;
        } catch (SocketTimeoutException nothingYet) {
          // the issuer has not answered or closed yet
        } catch (IOException closed) {
          break;
        }
        Thread.sleep(interval.toMillis());
        try {
          out.write('"');
          out.flush();
        } catch (IOException closed) {
          break;
        }
      }
      if (!counted && running.get()) {
        cut.incrementAndGet();
      }
    }
  }
}
