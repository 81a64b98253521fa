package dev.machineid.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.CryptoProviders;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Issuer throughput with a fresh mTLS connection per request (issue 3's benchmark). The parent
 * process is the load generator; it starts the issuer in a child JVM ({@code serve} mode), then
 * measures token joins/s (challenge + join, two connections each) and renewals/s (one connection
 * each, presenting the bot certificate), and, in its own JVM with the same provider, the raw P-256
 * signing rate and the rate of bare full mTLS handshakes (both ends in one JVM, no HTTP).
 * Renewals and bare handshakes are measured in alternating rounds after a warm-up that lasts until
 * the JIT compilers are quiet; the ratio reported is the median of the rounds' ratios.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.machineid.benchmarks.IssuerLoad provider=jdk [threads=8] [rounds=5] [seconds=10] [store=jdbc:...|store=postgres]
 * </pre>
 */
public final class IssuerLoad {
  private IssuerLoad() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>(Map.of(
        "provider",
        "jdk",
        "seconds",
        "10",
        "rounds",
        "5",
        "threads",
        "8",
        "tokens",
        "40000",
        "store",
        "",
        "warmup",
        "20",
        "settle",
        "180",
        "jitQuiet",
        "0.05"));
    for (String s : args) {
      int eq = s.indexOf('=');
      if (eq > 0) {
        a.put(s.substring(0, eq), s.substring(eq + 1));
      } else {
        a.put("mode", s);
      }
    }
    if ("serve".equals(a.get("mode"))) {
      serve(a);
    } else {
      load(a);
    }
  }

  // ---------------------------------------------------------------- issuer process

  private static void serve(Map<String, String> a) throws Exception {
    String provider = CryptoProviders.install(a.get("provider"));
    Issuer.Builder b = Issuer.builder().trustDomain("bench.test");
    if (!a.get("store").isEmpty()) {
      b.store(IssuerStore.jdbc(
          a.get("store"), a.getOrDefault("user", null), a.getOrDefault("password", null)));
    }
    try (Issuer issuer = b.build().start()) {
      issuer.bots().create("bench");
      int n = Integer.parseInt(a.get("tokens"));
      StringBuilder sb = new StringBuilder();
      sb.append(issuer.url())
          .append('\n')
          .append(provider)
          .append('\n')
          .append(signingRate(issuer))
          .append('\n');
      for (int i = 0; i < n; i++) {
        sb.append(issuer.tokens().create("bench", Duration.ofHours(1))).append('\n');
      }
      Files.writeString(
          Path.of(a.get("out")), Pem.encode(issuer.authorityCertificate()) + "===\n" + sb);
      System.out.println("ready");
      System.out.flush();
      // run until the parent closes our stdin
      while (System.in.read() != -1) {
        // nothing
      }
    }
  }

  /** Signatures per second of the issuer's authority key (SHA256withECDSA over 256 bytes). */
  private static double signingRate(Issuer issuer) throws Exception {
    KeyPair kp = CertificateAuthority.newP256(new SecureRandom());
    byte[] data = new byte[256];
    Signature s = Signature.getInstance("SHA256withECDSA");
    long end = System.nanoTime() + 3_000_000_000L;
    long warm = System.nanoTime() + 1_000_000_000L;
    long n = 0;
    long start = 0;
    while (System.nanoTime() < end) {
      s.initSign(kp.getPrivate());
      s.update(data);
      s.sign();
      if (start == 0 && System.nanoTime() > warm) {
        start = System.nanoTime();
        n = 0;
      }
      n++;
    }
    return n / ((System.nanoTime() - start) / 1e9);
  }

  // ---------------------------------------------------------------- load generator process

  private static void load(Map<String, String> a) throws Exception {
    // store=postgres: a real PostgreSQL started here for the run (testkit PostgresServer)
    if ("postgres".equals(a.get("store"))) {
      try (dev.machineid.testkit.PostgresServer pg =
          dev.machineid.testkit.PostgresServer.builder().start()) {
        a.put("store", pg.createDatabase("bench"));
        a.put("user", pg.user());
        a.put("pgData", pg.dataDirectory().toString());
        load(a);
      }
      return;
    }
    Path file = Files.createTempFile("issuer-load", ".txt");
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(javaBin));
    // serverJvm=... passes JVM options to the issuer process (space-separated), e.g. a JFR
    // recording
    if (a.containsKey("serverJvm")) {
      cmd.addAll(List.of(a.get("serverJvm").trim().split("\\s+")));
    }
    cmd.addAll(List.of(
        "-cp",
        System.getProperty("java.class.path"),
        IssuerLoad.class.getName(),
        "serve",
        "out=" + file));
    a.forEach((k, v) -> {
      if (!k.equals("mode") && !k.equals("out") && !k.equals("serverJvm") && !k.equals("pgData")) {
        cmd.add(k + "=" + v);
      }
    });
    Process child =
        new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader r =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = r.readLine()) != null && !"ready".equals(line)) {
      System.err.println("issuer: " + line);
    }
    if (line == null) {
      throw new IllegalStateException("the issuer process did not start");
    }
    String[] parts = Files.readString(file).split("===\n", 2);
    X509Certificate ca = Pem.certificate(parts[0]);
    String[] lines = parts[1].split("\n");
    java.net.URI url = java.net.URI.create(lines[0]);
    String serverProvider = lines[1];
    double signing = Double.parseDouble(lines[2]);
    ConcurrentLinkedQueue<String> tokens =
        new ConcurrentLinkedQueue<>(List.of(lines).subList(3, lines.length));
    CryptoProviders.install(a.get("provider"));
    int threads = Integer.parseInt(a.get("threads"));
    Duration run = Duration.ofSeconds(Long.parseLong(a.get("seconds")));
    int rounds = Integer.parseInt(a.get("rounds"));
    // Each workload first runs `warmup` seconds unmeasured, then keeps warming in 5-second slices
    // until the JIT compiler threads of both JVMs are quiet (below `jitQuiet` of one core) or
    // `settle` more seconds have passed: on 2 saturated cores C2 is still compiling minutes into
    // a run, and what it takes is charged to whichever phase is measured meanwhile.
    Warmup warm = new Warmup(
        threads,
        Duration.ofSeconds(Long.parseLong(a.get("warmup"))),
        Duration.ofSeconds(Long.parseLong(a.get("settle"))),
        Double.parseDouble(a.get("jitQuiet")),
        child.pid());
    Path pgData = a.containsKey("pgData") ? Path.of(a.get("pgData")) : null;
    try (BareServer bare = new BareServer(true);
        BareServer reused = new BareServer(false)) {
      Target t = new Target(url.getHost(), url.getPort(), ca);
      String joinWarm = warm.run("joins", () -> join(t, tokens.poll()));
      System.err.println("phase: joins");
      Cpu cpu = new Cpu(child.pid(), pgData);
      AtomicLong joined = new AtomicLong();
      double joins = measure(threads, run, () -> {
        join(t, tokens.poll());
        joined.incrementAndGet();
      });
      double[] joinCpu = cpu.perOp(joined.get());
      // each renewal borrows a bot no other thread is renewing (a concurrent renewal of one
      // instance would be a stale generation, which locks it)
      ConcurrentLinkedQueue<Bot> idle = new ConcurrentLinkedQueue<>();
      for (int i = 0; i < threads; i++) {
        idle.add(join(t, tokens.poll()));
      }
      Runnable renew = () -> {
        Bot b = idle.poll();
        try {
          b.renew(t);
        } finally {
          idle.add(b);
        }
      };
      String renewWarm = warm.run("renewals", renew);
      String bareWarm = warm.run("bare handshakes", bare::handshake);
      // Renewals and bare handshakes are measured in alternating rounds (the order flips every
      // round), so drift in what the machine gives the benchmark lands on both sides of the ratio.
      double[] renewRates = new double[rounds];
      double[] bareRates = new double[rounds];
      double[] ratios = new double[rounds];
      double[] renewCpuSum = new double[5];
      double bareCpuSum = 0;
      long renewOps = 0;
      long bareOps = 0;
      for (int round = 0; round < rounds; round++) {
        for (int half = 0; half < 2; half++) {
          if ((half == 0) == (round % 2 == 0)) {
            System.err.println("phase: renewals, round " + (round + 1));
            cpu = new Cpu(child.pid(), pgData);
            AtomicLong renewed = new AtomicLong();
            renewRates[round] = measure(threads, run, () -> {
              renew.run();
              renewed.incrementAndGet();
            });
            double[] c = cpu.perOp(renewed.get());
            for (int i = 0; i < 5; i++) {
              renewCpuSum[i] += c[i] * renewed.get();
            }
            renewOps += renewed.get();
          } else {
            System.err.println("phase: bare handshakes, round " + (round + 1));
            BareWindow w = BareWindow.measure(threads, run, bare);
            bareRates[round] = w.rate();
            bareCpuSum += w.cpuMs();
            bareOps += w.handshakes();
          }
        }
        ratios[round] = renewRates[round] / bareRates[round];
        System.err.printf(
            "round %d: renewals %.1f/s, bare handshakes %.1f/s, ratio %.2f%n",
            round + 1, renewRates[round], bareRates[round], ratios[round]);
      }
      double[] renewCpu = new double[5];
      for (int i = 0; i < 5; i++) {
        renewCpu[i] = renewCpuSum[i] / renewOps;
      }
      double bareCpu = bareCpuSum / bareOps;
      String reusedWarm =
          warm.run("bare handshakes, one reused client certificate", reused::handshake);
      BareWindow reusedWindow = BareWindow.measure(threads, run, reused);
      double cached = reusedWindow.rate();
      double cachedCpu = reusedWindow.cpuMs() / reusedWindow.handshakes();
      double renewals = median(renewRates);
      double handshakes = median(bareRates);
      double ratio = median(ratios);
      System.out.printf(
          "provider=%s (server: %s) jdk=%s store=%s threads=%d rounds=%d seconds_per_round=%d%n"
              + "warmup: joins %s; renewals %s; bare handshakes %s; reused-certificate handshakes %s%n"
              + "p256_signs_per_s=%.0f%n"
              + "token_joins_per_s=%.1f%n"
              + "renewals_per_s=%.1f (median of rounds: %s)%n"
              + "bare_mtls_handshakes_per_s=%.1f (a new client certificate each; median of rounds: %s)%n"
              + "bare_mtls_handshakes_one_reused_client_certificate_per_s=%.1f%n"
              + "renewals_to_bare_handshakes=%.2f (median of the rounds' ratios: %s)%n"
              + "bots_per_replica_at_20m=%.0f%n"
              + "cpu_ms_per_join=%.2f (issuer %.2f + client %.2f)%n"
              + "cpu_ms_per_renewal=%.2f (issuer %.2f + client %.2f; of which JIT compiler threads %.2f, the issuer's GC threads %.2f; PostgreSQL besides: %s)%n"
              + "cpu_ms_per_bare_handshake=%.2f (both ends; one reused client certificate: %.2f)%n"
              + "cpu_ratio_bare_handshake_to_renewal=%.2f (counting PostgreSQL's CPU too: %s)%n",
          a.get("provider"),
          serverProvider,
          System.getProperty("java.version"),
          a.get("store").isEmpty() ? "h2-memory" : a.get("store"),
          threads,
          rounds,
          run.toSeconds(),
          joinWarm,
          renewWarm,
          bareWarm,
          reusedWarm,
          signing,
          joins,
          renewals,
          list(renewRates, "%.1f"),
          handshakes,
          list(bareRates, "%.1f"),
          cached,
          ratio,
          list(ratios, "%.2f"),
          renewals * 1200,
          joinCpu[0] + joinCpu[1],
          joinCpu[0],
          joinCpu[1],
          renewCpu[0] + renewCpu[1],
          renewCpu[0],
          renewCpu[1],
          renewCpu[2],
          renewCpu[4],
          pgData == null ? "-" : String.format("%.2f", renewCpu[3]),
          bareCpu,
          cachedCpu,
          bareCpu / (renewCpu[0] + renewCpu[1]),
          pgData == null
              ? "-"
              : String.format("%.2f", bareCpu / (renewCpu[0] + renewCpu[1] + renewCpu[3])));
    } finally {
      child.getOutputStream().close();
      child.waitFor();
      Files.deleteIfExists(file);
    }
  }

  /** One measured window of bare handshakes: the rate, and this JVM's CPU (both ends) over it. */
  record BareWindow(double rate, double cpuMs, long handshakes) {
    static BareWindow measure(int threads, Duration d, BareServer server)
        throws InterruptedException {
      long cpu0 = Cpu.selfNanos();
      AtomicLong done = new AtomicLong();
      double rate = IssuerLoad.measure(threads, d, () -> {
        server.handshake();
        done.incrementAndGet();
      });
      return new BareWindow(rate, (Cpu.selfNanos() - cpu0) / 1e6, done.get());
    }
  }

  static double median(double[] v) {
    double[] s = v.clone();
    java.util.Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String list(double[] v, String format) {
    StringBuilder sb = new StringBuilder();
    for (double d : v) {
      sb.append(sb.length() == 0 ? "" : ", ").append(String.format(format, d));
    }
    return sb.toString();
  }

  /**
   * Unmeasured warm-up of one workload: at least {@code min}, then 5-second slices until the JIT
   * compiler threads of both JVMs used less than {@code quiet} of one core in a slice, or
   * {@code settle} more has passed.
   */
  record Warmup(int threads, Duration min, Duration settle, double quiet, long issuerPid) {
    /** Runs the warm-up; returns how it ended, for the report. */
    String run(String what, Runnable op) throws InterruptedException {
      System.err.println("warm-up: " + what);
      long t0 = System.nanoTime();
      measure(threads, min, op);
      long deadline = System.nanoTime() + settle.toNanos();
      double share;
      do {
        long jit0 = jit();
        long s0 = System.nanoTime();
        measure(threads, Duration.ofSeconds(5), op);
        share = (jit() - jit0) / (double) (System.nanoTime() - s0);
      } while (share >= quiet && System.nanoTime() < deadline);
      return String.format(
          "%.0f s, JIT %.1f%% of a core at the end", (System.nanoTime() - t0) / 1e9, share * 100);
    }

    private long jit() {
      return Cpu.jitNanos(issuerPid) + Cpu.jitNanos(ProcessHandle.current().pid());
    }
  }

  /**
   * CPU time of the issuer process (from /proc) and of this process since construction, so the
   * cost of an operation can be read independently of what else runs on the machine.
   */
  static final class Cpu {
    private final long pid;
    private final long issuer0;
    private final long self0;
    private final long jit0;
    private final Path pgData;
    private final long pg0;
    private final long gc0;

    /** @param pgData the data directory of a PostgreSQL on this machine whose CPU to count, or null */
    Cpu(long pid, Path pgData) {
      this.pid = pid;
      this.pgData = pgData;
      this.issuer0 = issuerNanos();
      this.self0 = selfNanos();
      this.jit0 = jitNanos(pid) + jitNanos(ProcessHandle.current().pid());
      this.pg0 = postgresNanos(pgData);
      this.gc0 = gcNanos(pid);
    }

    /**
     * {issuer ms per op, load generator ms per op, of both: JIT compiler threads' ms per op,
     * PostgreSQL's ms per op (0 without one), the issuer's garbage collector threads' ms per op}.
     */
    double[] perOp(long ops) {
      return new double[] {
        (issuerNanos() - issuer0) / 1e6 / ops,
        (selfNanos() - self0) / 1e6 / ops,
        (jitNanos(pid) + jitNanos(ProcessHandle.current().pid()) - jit0) / 1e6 / ops,
        (postgresNanos(pgData) - pg0) / 1e6 / ops,
        (gcNanos(pid) - gc0) / 1e6 / ops
      };
    }

    /**
     * CPU time of a PostgreSQL server: the postmaster (PID from {@code postmaster.pid}) and its
     * live children (the pooled connections' backends live for the whole run), plus what its
     * ended children used (the postmaster's cutime/cstime).
     */
    static long postgresNanos(Path pgData) {
      if (pgData == null) {
        return 0;
      }
      try {
        long master = Long.parseLong(
            Files.readAllLines(pgData.resolve("postmaster.pid")).get(0).trim());
        String ms = Files.readString(Path.of("/proc/" + master + "/stat"));
        String[] mf = ms.substring(ms.lastIndexOf(')') + 2).split(" ");
        long nanos = cpuNanos(ms) + (Long.parseLong(mf[13]) + Long.parseLong(mf[14])) * 10_000_000L;
        try (var procs = Files.list(Path.of("/proc"))) {
          for (Path p : (Iterable<Path>) procs::iterator) {
            if (!p.getFileName().toString().chars().allMatch(Character::isDigit)) {
              continue;
            }
            try {
              String st = Files.readString(p.resolve("stat"));
              String[] f = st.substring(st.lastIndexOf(')') + 2).split(" ");
              if (Long.parseLong(f[1]) == master) {
                nanos += cpuNanos(st);
              }
            } catch (java.io.IOException | RuntimeException gone) {
              // the process ended
            }
          }
        }
        return nanos;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    /** CPU time of the JIT compiler threads (C1, C2) of a process, from /proc/PID/task. */
    static long jitNanos(long pid) {
      return threadNanos(pid, "C1 Compiler", "C2 Compiler");
    }

    /** CPU time of the garbage collector's threads (G1's and the parallel GC workers) of a process. */
    static long gcNanos(long pid) {
      return threadNanos(pid, "GC Thread", "G1 ");
    }

    /** CPU time of a process's threads whose name starts with one of {@code prefixes}. */
    static long threadNanos(long pid, String... prefixes) {
      long nanos = 0;
      try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
        for (Path t : (Iterable<Path>) tasks::iterator) {
          try {
            String stat = Files.readString(t.resolve("stat"));
            String comm = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
            for (String p : prefixes) {
              if (comm.startsWith(p)) {
                nanos += cpuNanos(stat);
                break;
              }
            }
          } catch (java.io.IOException | RuntimeException gone) {
            // the thread ended
          }
        }
      } catch (java.io.IOException e) {
        return 0;
      }
      return nanos;
    }

    static long selfNanos() {
      return ((com.sun.management.OperatingSystemMXBean)
              java.lang.management.ManagementFactory.getOperatingSystemMXBean())
          .getProcessCpuTime();
    }

    private long issuerNanos() {
      try {
        return cpuNanos(Files.readString(Path.of("/proc/" + pid + "/stat")));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    /** utime + stime of a /proc stat line (fields 14 and 15, in clock ticks of 10 ms: USER_HZ is 100 on Linux). */
    private static long cpuNanos(String stat) {
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10_000_000L;
    }
  }

  private static double measure(int threads, Duration d, Runnable op) throws InterruptedException {
    AtomicLong count = new AtomicLong();
    long end = System.nanoTime() + d.toNanos();
    List<Thread> ts = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Thread th = new Thread(() -> {
        while (System.nanoTime() < end) {
          op.run();
          count.incrementAndGet();
        }
      });
      th.start();
      ts.add(th);
    }
    long start = System.nanoTime();
    for (Thread th : ts) {
      th.join();
    }
    return count.get() / ((System.nanoTime() - start) / 1e9);
  }

  /** Where the issuer is and a trust store of its authority. */
  record Target(String host, int port, X509Certificate ca) {}

  /** A joined bot: its reused key, current chain and generation. */
  static final class Bot {
    final KeyPair key;
    volatile X509Certificate[] chain;
    long generation;
    final SSLContext ctx;

    Bot(KeyPair key, JsonNode credentials, X509Certificate ca) throws Exception {
      this.key = key;
      update(credentials);
      this.ctx = context(ca, new X509ExtendedKeyManager() {
        public String[] getClientAliases(String t, Principal[] i) {
          return new String[] {"bot"};
        }

        public String chooseClientAlias(String[] t, Principal[] i, Socket s) {
          return "bot";
        }

        public String chooseEngineClientAlias(String[] t, Principal[] i, SSLEngine e) {
          return "bot";
        }

        public String[] getServerAliases(String t, Principal[] i) {
          return null;
        }

        public String chooseServerAlias(String t, Principal[] i, Socket s) {
          return null;
        }

        public X509Certificate[] getCertificateChain(String alias) {
          return chain;
        }

        public PrivateKey getPrivateKey(String alias) {
          return key.getPrivate();
        }
      });
    }

    private void update(JsonNode c) {
      List<X509Certificate> l = new ArrayList<>();
      c.get("certificate_chain").forEach(p -> l.add(Pem.certificate(p.asText())));
      chain = l.toArray(X509Certificate[]::new);
      generation = c.get("generation").asLong();
    }

    void renew(Target t) {
      ObjectNode body = Protocol.nodes()
          .objectNode()
          .put("generation", generation)
          .put("public_key", Pem.encode(key.getPublic()));
      update(post(ctx, t, "/v1/renew", body));
    }
  }

  private static final ThreadLocal<SSLContext> ANONYMOUS = new ThreadLocal<>();

  static Bot join(Target t, String token) {
    try {
      if (token == null) {
        throw new IllegalStateException("out of tokens; raise tokens=");
      }
      SSLContext ctx = ANONYMOUS.get();
      if (ctx == null) {
        ctx = context(t.ca(), null);
        ANONYMOUS.set(ctx);
      }
      KeyPair kp = CertificateAuthority.newP256(new SecureRandom());
      String pem = Pem.encode(kp.getPublic());
      JsonNode ch = post(
          ctx,
          t,
          "/v1/join/challenge",
          Protocol.nodes()
              .objectNode()
              .put("join_method", "token")
              .put("token", token)
              .put("public_key", pem));
      String challenge = ch.get("challenge").asText();
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initSign(kp.getPrivate());
      s.update(challenge.getBytes(StandardCharsets.UTF_8));
      ObjectNode req = Protocol.nodes()
          .objectNode()
          .put("join_method", "token")
          .put("token", token)
          .put("challenge", challenge)
          .put("challenge_signature", Base64.getEncoder().encodeToString(s.sign()))
          .put("public_key", pem);
      req.putObject("proof");
      return new Bot(kp, post(ctx, t, "/v1/join", req), t.ca());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** One request on a fresh TLS connection (no session reuse), Connection: close. */
  private static JsonNode post(SSLContext ctx, Target t, String path, JsonNode body) {
    byte[] b = body.toString().getBytes(StandardCharsets.UTF_8);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(t.host(), t.port())) {
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      out.write(("POST " + path + " HTTP/1.1\r\nHost: " + t.host()
              + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length
              + "\r\nConnection: close\r\n\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      out.write(b);
      out.flush();
      InputStream in = s.getInputStream();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      in.transferTo(all);
      s.getSession().invalidate();
      String resp = all.toString(StandardCharsets.UTF_8);
      int split = resp.indexOf("\r\n\r\n");
      if (!resp.startsWith("HTTP/1.1 200")) {
        throw new IllegalStateException(
            path + ": " + resp.lines().findFirst().orElse("") + " " + resp.substring(split + 4));
      }
      return Protocol.reader().readTree(resp.substring(split + 4));
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static SSLContext context(X509Certificate ca, X509ExtendedKeyManager km)
      throws Exception {
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(km == null ? null : new javax.net.ssl.KeyManager[] {km}, tmf.getTrustManagers(), null);
    ctx.getClientSessionContext().setSessionCacheSize(1);
    return ctx;
  }

  // ---------------------------------------------------------------- bare handshakes

  /**
   * A bare mTLS 1.3 server and client, both in this JVM: one byte exchanged per connection, no
   * HTTP, no resumption — the ceiling of a design in which every renewal is a new connection.
   *
   * <p>With {@code distinctClients}, every handshake presents a client certificate the server has
   * not verified recently (a pool larger than the JDK's certificate cache, issued beforehand), as
   * every renewal does: the JDK's {@code CertificateFactory} caches parsed certificates by encoding
   * and a parsed certificate remembers a successful signature check, so a benchmark that presents
   * one client certificate over and over skips the server's check of the client certificate's
   * signature after the first handshake. Without it, one client certificate is reused (the cached
   * figure, kept for comparison with earlier runs).
   */
  static final class BareServer implements AutoCloseable {
    private final SSLServerSocket ss;
    private final SSLContext client;
    private final int port;

    BareServer(boolean distinctClients) throws Exception {
      CertificateAuthority ca =
          CertificateAuthority.create("bare.test", java.time.Instant.now(), new SecureRandom());
      KeyPair serverKey = CertificateAuthority.newP256(new SecureRandom());
      X509Certificate serverCert = ca.issueServer(
          serverKey.getPublic(), List.of("127.0.0.1"), java.time.Instant.now(), Duration.ofDays(1));
      KeyPair clientKey = CertificateAuthority.newP256(new SecureRandom());
      // more than the JDK's 750-entry certificate cache, so each certificate is parsed and checked
      // anew
      int pool = distinctClients ? 2000 : 1;
      List<byte[]> clientCerts = new ArrayList<>();
      for (int i = 0; i < pool; i++) {
        clientCerts.add(ca.issueBot(
                "bare.test",
                "b",
                clientKey.getPublic(),
                new dev.machineid.core.protocol.IdentityExtension("i" + i, 1, "token"),
                java.time.Instant.now(),
                Duration.ofHours(4))
            .getEncoded());
      }
      java.security.cert.CertificateFactory cf =
          java.security.cert.CertificateFactory.getInstance("X.509");
      AtomicLong next = new AtomicLong();
      X509Certificate caCert = ca.certificate();
      X509ExtendedKeyManager clientKm = new X509ExtendedKeyManager() {
        // one alias per handshake: the certificate chosen in chooseClientAlias is the one served
        public String[] getClientAliases(String t, Principal[] i) {
          return null;
        }

        public String chooseClientAlias(String[] t, Principal[] i, Socket s) {
          return Long.toString(next.getAndIncrement() % pool);
        }

        public String chooseEngineClientAlias(String[] t, Principal[] i, SSLEngine e) {
          return chooseClientAlias(t, i, (Socket) null);
        }

        public String[] getServerAliases(String t, Principal[] i) {
          return null;
        }

        public String chooseServerAlias(String t, Principal[] i, Socket s) {
          return null;
        }

        public X509Certificate[] getCertificateChain(String alias) {
          try {
            // parsed from bytes per handshake, as a client holding a freshly issued certificate
            // would have it
            return new X509Certificate[] {
              (X509Certificate) cf.generateCertificate(
                  new java.io.ByteArrayInputStream(clientCerts.get(Integer.parseInt(alias)))),
              caCert
            };
          } catch (java.security.cert.CertificateException e) {
            throw new IllegalStateException(e);
          }
        }

        public PrivateKey getPrivateKey(String alias) {
          return clientKey.getPrivate();
        }
      };
      SSLContext server =
          kmContext(ca.certificate(), serverKey.getPrivate(), new X509Certificate[] {
            serverCert, ca.certificate()
          });
      client = context(ca.certificate(), clientKm);
      server.getServerSessionContext().setSessionCacheSize(1);
      client.getClientSessionContext().setSessionCacheSize(1);
      ss = (SSLServerSocket) server
          .getServerSocketFactory()
          .createServerSocket(0, 128, java.net.InetAddress.getLoopbackAddress());
      ss.setNeedClientAuth(true);
      Thread acceptor = new Thread(() -> {
        while (!ss.isClosed()) {
          try {
            SSLSocket c = (SSLSocket) ss.accept();
            Thread h = new Thread(() -> {
              try (c) {
                c.setTcpNoDelay(true);
                c.startHandshake();
                c.getOutputStream().write(1);
                c.getOutputStream().flush();
                c.getInputStream().read();
                c.getSession().invalidate();
              } catch (Exception e) {
                // client went away
              }
            });
            h.setDaemon(true);
            h.start();
          } catch (Exception e) {
            return;
          }
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      port = ss.getLocalPort();
    }

    /** One full handshake on a new connection; returns once the server has sent its byte. */
    void handshake() {
      try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket("127.0.0.1", port)) {
        s.setTcpNoDelay(true);
        s.startHandshake();
        s.getInputStream().read();
        s.getSession().invalidate();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void close() throws java.io.IOException {
      ss.close();
    }
  }

  private static SSLContext kmContext(X509Certificate ca, PrivateKey key, X509Certificate[] chain)
      throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("k", key, new char[0], chain);
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
    kmf.init(ks, new char[0]);
    KeyStore trust = KeyStore.getInstance("PKCS12");
    trust.load(null, null);
    trust.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf =
        TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
    return ctx;
  }
}
