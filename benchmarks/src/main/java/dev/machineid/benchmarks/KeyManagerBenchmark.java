package dev.machineid.benchmarks;

import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.Issuer;
import java.security.Principal;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.X509KeyManager;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The key manager's own share of a client handshake, without the TLS and the network: the three
 * calls JSSE makes on the client side of a TLS 1.3 mutual handshake ({@code chooseClientAlias} with
 * the key types taken from the server's signature algorithms, then {@code getPrivateKey} and
 * {@code getCertificateChain} for the chosen alias). This isolates what {@link HandshakeBenchmark}
 * can only show as noise: the difference is nanoseconds against milliseconds of handshake.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class KeyManagerBenchmark {

  /** What a JDK 17 TLS 1.3 client passes when the server asks for a certificate with default schemes. */
  private static final String[] KEY_TYPES = {"EC", "RSASSA-PSS", "RSA", "EdDSA"};

  private static final Principal[] NO_ISSUERS = null;

  private Issuer issuer;
  private MachineIdentity machineIdentity;
  private X509KeyManager rotating;
  private X509KeyManager sunX509;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("bench");
    machineIdentity = MachineIdentity.builder()
        .issuer(issuer.url())
        .caPin(issuer.caPin())
        .token(issuer.tokens().create("bench", Duration.ofMinutes(10)))
        .credentialTtl(Duration.ofHours(1))
        .build();
    rotating = machineIdentity.keyManager();
    sunX509 = (X509KeyManager) HandshakeBenchmark.sunX509InMemory(machineIdentity.start());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    if (machineIdentity != null) {
      machineIdentity.close();
    }
    if (issuer != null) {
      issuer.close();
    }
  }

  @Benchmark
  public void machineIdentityKeyManager(Blackhole bh) {
    select(rotating, bh);
  }

  @Benchmark
  public void staticKeyManager(Blackhole bh) {
    select(sunX509, bh);
  }

  private static void select(X509KeyManager keyManager, Blackhole bh) {
    String alias = keyManager.chooseClientAlias(KEY_TYPES, NO_ISSUERS, null);
    bh.consume(keyManager.getPrivateKey(alias));
    bh.consume(keyManager.getCertificateChain(alias));
  }
}
