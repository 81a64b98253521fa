package dev.machineid.benchmarks;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.TestCertificateAuthority;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Full mutual-TLS 1.3 handshakes per second over loopback, client side presenting the bot identity
 * either through {@link MachineIdentity#keyManager()} or through the fastest static baseline: a
 * {@code SunX509} key manager over an in-memory PKCS#12 key store holding the same key and chain.
 *
 * <p>Each operation opens a fresh TCP connection (TCP_NODELAY on both ends), completes a full
 * handshake, waits for one byte the server writes only after its own side of the handshake (so the
 * server has verified the client certificate), and closes. Sessions are invalidated on both ends,
 * and {@link #checkEveryHandshakeWasFull()} fails the trial if the server ever saw a handshake
 * without a client certificate check, i.e. a resumption.
 *
 * <p>Both methods share the server, the trust managers, the protocol ({@code TLSv1.3}), the cipher
 * suite and the endpoint identification settings; only the client key manager differs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Threads(1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Warmup(iterations = 3, time = 3)
@Measurement(iterations = 5, time = 3)
public class HandshakeBenchmark {

  static final String[] PROTOCOLS = {"TLSv1.3"};
  static final String[] CIPHER_SUITES = {"TLS_AES_128_GCM_SHA256"};
  private static final char[] STORE_PASSWORD = "benchmark".toCharArray();
  private static final int SO_TIMEOUT_MILLIS = 10_000;

  private Issuer issuer;
  private MachineIdentity machineIdentity;
  private TestCertificateAuthority serverCa;
  private HandshakeServer server;
  private InetSocketAddress serverAddress;
  SSLSocketFactory machineIdentityClient;
  SSLSocketFactory staticClient;
  private SSLParameters clientParameters;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("bench");
    String token = issuer.tokens().create("bench", Duration.ofMinutes(10));
    machineIdentity = MachineIdentity.builder()
        .issuer(issuer.url())
        .caPin(issuer.caPin())
        .token(token)
        .credentialTtl(Duration.ofHours(1))
        .build();
    Identity identity = machineIdentity.start();

    serverCa = TestCertificateAuthority.create("benchmark server CA");
    TestCertificateAuthority.Issued serverCertificate =
        serverCa.issueServerCertificate(List.of("127.0.0.1"));
    SSLContext serverContext = SSLContext.getInstance("TLS");
    CountingTrustManager serverTrust =
        new CountingTrustManager(pkixTrustManager(identity.trustBundle()));
    serverContext.init(
        new KeyManager[] {serverCertificate.keyManager()}, new TrustManager[] {serverTrust}, null);
    server = new HandshakeServer(serverContext, serverTrust);
    serverAddress = server.address();

    X509ExtendedTrustManager clientTrust = serverCa.trustManager();
    machineIdentityClient =
        clientContext(machineIdentity.keyManager(), clientTrust).getSocketFactory();
    staticClient = clientContext(sunX509InMemory(identity), clientTrust).getSocketFactory();

    clientParameters = new SSLParameters(CIPHER_SUITES.clone(), PROTOCOLS.clone());
    clientParameters.setEndpointIdentificationAlgorithm("HTTPS");

    // Fail now, not after minutes of measurement, if either client cannot complete a handshake.
    handshake(machineIdentityClient);
    handshake(staticClient);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    try {
      if (server != null) {
        server.close();
        checkEveryHandshakeWasFull();
      }
    } finally {
      if (machineIdentity != null) {
        machineIdentity.close();
      }
      if (issuer != null) {
        issuer.close();
      }
      if (serverCa != null) {
        serverCa.close();
      }
    }
  }

  /** The client presents the bot identity through the SDK's rotating key manager. */
  @Benchmark
  public int machineIdentityKeyManager(CpuCounters cpu) throws IOException {
    return cpu.measure(this, machineIdentityClient);
  }

  /** The client presents the same key and chain through SunX509 over an in-memory key store. */
  @Benchmark
  public int staticKeyManager(CpuCounters cpu) throws IOException {
    return cpu.measure(this, staticClient);
  }

  /**
   * CPU time of the benchmark (client) thread and of the server thread, per iteration, next to the
   * wall-clock score. On a machine shared with other work, wall-clock handshakes per second swing
   * with the background load; CPU time per handshake barely does, so it is the steadier way to
   * compare the two key managers there. Two thread-CPU-clock reads per operation (about a
   * microsecond each) are noise against a handshake of several milliseconds, and both methods pay
   * them.
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class CpuCounters {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    public long handshakes;
    public long clientCpuNanos;
    public long serverCpuNanos;

    @Setup(Level.Iteration)
    public void reset() {
      handshakes = 0;
      clientCpuNanos = 0;
      serverCpuNanos = 0;
    }

    int measure(HandshakeBenchmark benchmark, SSLSocketFactory client) throws IOException {
      long serverThread = benchmark.server.threadId();
      long client0 = THREADS.getCurrentThreadCpuTime();
      long server0 = THREADS.getThreadCpuTime(serverThread);
      int result = benchmark.handshake(client);
      clientCpuNanos += THREADS.getCurrentThreadCpuTime() - client0;
      serverCpuNanos += THREADS.getThreadCpuTime(serverThread) - server0;
      handshakes++;
      return result;
    }
  }

  int handshake(SSLSocketFactory factory) throws IOException {
    try (Socket plain = new Socket()) {
      plain.setTcpNoDelay(true);
      plain.setSoTimeout(SO_TIMEOUT_MILLIS);
      plain.connect(serverAddress, SO_TIMEOUT_MILLIS);
      try (SSLSocket tls = (SSLSocket) factory.createSocket(
          plain, serverAddress.getHostString(), serverAddress.getPort(), true)) {
        tls.setSSLParameters(clientParameters);
        tls.startHandshake();
        // The server writes this byte after its side of the handshake, i.e. after it verified us.
        int b = tls.getInputStream().read();
        if (b != 1) {
          throw new IOException("server closed before confirming the handshake (read " + b + ")");
        }
        // Drops any ticket-derived session too (they are children of this one): no resumption.
        tls.getSession().invalidate();
        return b;
      }
    }
  }

  private void checkEveryHandshakeWasFull() {
    Throwable failure = server.failure();
    if (failure != null) {
      throw new IllegalStateException("the handshake server failed: " + failure, failure);
    }
    long accepted = server.completed();
    long checked = server.trust.clientChecks();
    if (accepted != checked) {
      throw new IllegalStateException(
          "the server completed " + accepted + " handshakes but verified only " + checked
              + " client certificates: some handshakes were resumed, the numbers are not full handshakes");
    }
  }

  private static SSLContext clientContext(KeyManager keyManager, X509ExtendedTrustManager trust)
      throws GeneralSecurityException {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(new KeyManager[] {keyManager}, new TrustManager[] {trust}, null);
    return context;
  }

  /**
   * The fastest static baseline: SunX509 extracts the key from the store once, at init, and then
   * serves it from memory. ({@code PKIX}/NewSunX509 over PKCS#12 would re-derive it with PBKDF2 on
   * every handshake.)
   */
  static KeyManager sunX509InMemory(Identity identity)
      throws GeneralSecurityException, IOException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    store.setKeyEntry(
        "identity",
        identity.privateKey(),
        STORE_PASSWORD,
        identity.certificateChain().toArray(new X509Certificate[0]));
    KeyManagerFactory factory = KeyManagerFactory.getInstance("SunX509");
    factory.init(store, STORE_PASSWORD);
    return factory.getKeyManagers()[0];
  }

  static X509ExtendedTrustManager pkixTrustManager(List<X509Certificate> anchors)
      throws GeneralSecurityException, IOException {
    KeyStore store = KeyStore.getInstance("PKCS12");
    store.load(null, null);
    int i = 0;
    for (X509Certificate anchor : anchors) {
      store.setCertificateEntry("anchor-" + i++, anchor);
    }
    TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
    factory.init(store);
    for (TrustManager manager : factory.getTrustManagers()) {
      if (manager instanceof X509ExtendedTrustManager extended) {
        return extended;
      }
    }
    throw new IllegalStateException(
        "the PKIX TrustManagerFactory returned no X509ExtendedTrustManager");
  }

  /** Accepts one connection at a time: full handshake, one byte, then waits for the client to close. */
  static final class HandshakeServer implements AutoCloseable {
    private final SSLServerSocket socket;
    private final Thread thread;
    final CountingTrustManager trust;
    private final AtomicLong completed = new AtomicLong();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile boolean closed;

    HandshakeServer(SSLContext context, CountingTrustManager trust) throws IOException {
      this.trust = trust;
      socket = (SSLServerSocket) context
          .getServerSocketFactory()
          .createServerSocket(0, 128, InetAddress.getByName("127.0.0.1"));
      SSLParameters parameters = new SSLParameters(CIPHER_SUITES.clone(), PROTOCOLS.clone());
      parameters.setNeedClientAuth(true);
      socket.setSSLParameters(parameters);
      thread = new Thread(this::serve, "machineid-bench-handshake-server");
      thread.setDaemon(true);
      thread.start();
    }

    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", socket.getLocalPort());
    }

    long completed() {
      return completed.get();
    }

    @SuppressWarnings("deprecation") // Thread.threadId() is Java 19+; this module targets 17
    long threadId() {
      return thread.getId();
    }

    Throwable failure() {
      return failure.get();
    }

    private void serve() {
      while (!closed) {
        try (SSLSocket connection = (SSLSocket) socket.accept()) {
          connection.setTcpNoDelay(true);
          connection.setSoTimeout(SO_TIMEOUT_MILLIS);
          connection.startHandshake();
          connection.getSession().invalidate();
          completed.incrementAndGet();
          OutputStream out = connection.getOutputStream();
          out.write(1);
          out.flush();
          InputStream in = connection.getInputStream();
          while (in.read() != -1) {
            // the client sends nothing; wait for its close_notify or FIN
          }
        } catch (SocketException e) {
          if (closed) {
            return;
          }
          // A client that went away mid-connection (e.g. JMH ending an iteration) is not a failure.
        } catch (IOException | RuntimeException e) {
          if (closed) {
            return;
          }
          failure.compareAndSet(null, e);
        }
      }
    }

    @Override
    public void close() throws IOException {
      closed = true;
      socket.close();
      try {
        thread.join(SO_TIMEOUT_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Counts client-certificate checks: one per full handshake, none for a resumed one. */
  static final class CountingTrustManager extends X509ExtendedTrustManager {
    private final X509ExtendedTrustManager delegate;
    private final AtomicLong clientChecks = new AtomicLong();

    CountingTrustManager(X509ExtendedTrustManager delegate) {
      this.delegate = delegate;
    }

    long clientChecks() {
      return clientChecks.get();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, socket);
      clientChecks.incrementAndGet();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType, engine);
      clientChecks.incrementAndGet();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
      clientChecks.incrementAndGet();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }
  }
}
