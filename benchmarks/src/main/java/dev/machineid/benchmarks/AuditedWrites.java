package dev.machineid.benchmarks;

import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.store.JdbcStore;
import dev.machineid.testkit.PostgresServer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Audited writes per second on a real PostgreSQL (started here with the testkit's
 * {@code PostgresServer}) through the real {@link JdbcStore}: {@code threads} clients each run
 * renewal-shaped transactions (an instance's generation compare-and-set, then its audit event) for
 * {@code seconds}, once with the audit chain on one head ({@code auditShards(1)}) and once split
 * into {@code shards} shards, in alternating rounds on two databases of one server. Prints each
 * round, the medians and their ratio, and checks that both chains still verify.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.machineid.benchmarks.AuditedWrites [threads=16] [seconds=10] [rounds=3] [shards=16] [fsync=off|on]
 * </pre>
 */
public final class AuditedWrites {
  private AuditedWrites() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>(Map.of(
        "threads", "16", "seconds", "10", "rounds", "3", "shards", "16", "fsync", "off", "warmup",
        "5"));
    for (String s : args) {
      int eq = s.indexOf('=');
      if (eq <= 0 || !a.containsKey(s.substring(0, eq))) {
        throw new IllegalArgumentException(
            "unknown argument '" + s + "'; arguments are " + a.keySet() + " as name=value");
      }
      a.put(s.substring(0, eq), s.substring(eq + 1));
    }
    int threads = Integer.parseInt(a.get("threads"));
    int seconds = Integer.parseInt(a.get("seconds"));
    int rounds = Integer.parseInt(a.get("rounds"));
    int shards = Integer.parseInt(a.get("shards"));
    int warmup = Integer.parseInt(a.get("warmup"));
    boolean fsync = "on".equals(a.get("fsync"));
    PostgresServer.Builder builder = PostgresServer.builder();
    if (fsync) {
      builder.setting("fsync", "on").setting("full_page_writes", "on");
    }
    try (PostgresServer pg = builder.start();
        JdbcStore one = JdbcStore.builder(pg.createDatabase("one_head"))
            .credentials(pg.user(), null)
            .maximumPoolSize(threads)
            .auditShards(1)
            .build();
        JdbcStore many = JdbcStore.builder(pg.createDatabase("sharded"))
            .credentials(pg.user(), null)
            .maximumPoolSize(threads)
            .auditShards(shards)
            .build()) {
      System.out.printf(
          "PostgreSQL (fsync=%s), %d client threads, renewal-shaped transactions (instance CAS + audit append), %d s per round%n",
          a.get("fsync"), threads, seconds);
      List<String> oneIds = instances(one, threads);
      List<String> manyIds = instances(many, threads);
      run(one, oneIds, warmup);
      run(many, manyIds, warmup);
      List<Double> oneRates = new ArrayList<>();
      List<Double> manyRates = new ArrayList<>();
      for (int r = 0; r < rounds; r++) {
        double o = run(one, oneIds, seconds);
        double m = run(many, manyIds, seconds);
        oneRates.add(o);
        manyRates.add(m);
        System.out.printf(
            "round %d: one head %.0f writes/s, %d shards %.0f writes/s (x%.2f)%n",
            r + 1, o, shards, m, m / o);
      }
      double o = median(oneRates);
      double m = median(manyRates);
      System.out.printf(
          "median: one head %.0f audited writes/s, %d shards %.0f audited writes/s, ratio x%.2f%n",
          o, shards, m, m / o);
      System.out.println("one head: " + one.verifyAudit());
      System.out.println(shards + " shards: " + many.verifyAudit());
    }
  }

  /** One instance per client thread, so that the compare-and-sets never conflict: the audit head is what they share. */
  private static List<String> instances(IssuerStore store, int n) {
    List<String> ids = new ArrayList<>();
    Instant now = Instant.now();
    Authentication auth = new Authentication(now, "127.0.0.1:1", "token", 1, Map.of());
    for (int i = 0; i < n; i++) {
      String id = UUID.randomUUID().toString();
      store.insertInstance(new InstanceRecord(
          id, "bench", "token", "t" + i, "token:t" + i, now, 1, "h", "{}", "s1", auth, auth, null));
      ids.add(id);
    }
    return ids;
  }

  private static double run(IssuerStore store, List<String> ids, int seconds)
      throws InterruptedException {
    LongAdder writes = new LongAdder();
    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch done = new CountDownLatch(ids.size());
    List<Thread> workers = new ArrayList<>();
    for (String id : ids) {
      Thread t = new Thread(
          () -> {
            try {
              long generation = store.findInstance(id).orElseThrow().generation();
              while (!stop.get()) {
                long g = generation;
                Instant now = Instant.now();
                store.inTransaction(tx -> {
                  if (!tx.compareAndSetGeneration(
                      id,
                      g,
                      g + 1,
                      "h",
                      "{}",
                      "s" + (g + 1),
                      new Authentication(now, "127.0.0.1:1", "token", g + 1, Map.of()))) {
                    throw new IllegalStateException(
                        "generation of " + id + " moved under its only writer");
                  }
                  tx.appendAudit(new AuditEvent(
                      UUID.randomUUID().toString(),
                      now,
                      "renew",
                      "bench",
                      id,
                      AuditEvent.SUCCESS,
                      Map.of("generation", Long.toString(g + 1))));
                  return null;
                });
                generation = g + 1;
                writes.increment();
              }
            } finally {
              done.countDown();
            }
          },
          "machineid-bench-audit");
      t.setDaemon(true);
      workers.add(t);
    }
    long start = System.nanoTime();
    workers.forEach(Thread::start);
    Thread.sleep(seconds * 1000L); // the measured interval itself, not a wait for a condition
    stop.set(true);
    done.await();
    double elapsed = (System.nanoTime() - start) / 1e9;
    return writes.sum() / elapsed;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }
}
