package dev.machineid.core;

import dev.machineid.core.internal.client.PinningTrustManager;
import dev.machineid.core.internal.config.ConfigReader;
import dev.machineid.core.internal.renewal.IdentityEngine;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.join.JoinMethods;
import dev.machineid.core.join.TokenJoinMethod;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputStatus;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.storage.Storage;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one entry point: joins an issuer, keeps a short-lived identity renewed in-process, and serves
 * it to TLS clients through a hot-rotating {@link SSLContext}.
 *
 * <pre>{@code
 * try (MachineIdentity id = MachineIdentity.builder()
 *     .issuer("https://issuer.internal:8443")
 *     .caPins("sha256:…")
 *     .token(System.getenv("MACHINEID_TOKEN"))
 *     .build()) {
 *   id.start();
 *   // with identity-okhttp: dev.machineid.okhttp.OkHttpTls
 *   OkHttpClient http = OkHttpTls.configure(new OkHttpClient.Builder(), id).build();
 * }
 * }</pre>
 */
public final class MachineIdentity implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MachineIdentity.class);
  private final IdentityEngine engine;

  private MachineIdentity(IdentityEngine engine) {
    this.engine = engine;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Reads the settings from the agent's YAML (docs/architecture.md §10 shape) and builds, without starting. */
  public static MachineIdentity fromConfig(Path path) {
    return ConfigReader.read(path).build();
  }

  /**
   * Reads the agent's YAML into a builder, for a caller that adds settings (a listener, one-shot
   * mode) before building. Errors are {@link ConfigException}s of one line naming the key.
   */
  public static Builder builderFromConfig(Path path) {
    return ConfigReader.read(Objects.requireNonNull(path, "path"));
  }

  /**
   * Joins (or restores a stored identity) and blocks until the first identity, or the start timeout.
   * Calling it again once started returns the current identity.
   *
   * <p>A valid identity in {@code storage} serves at once, without the issuer (static stability):
   * health is then {@code DEGRADED} until the issuer is reached again, and renewal retries in the
   * background. A wrong CA pin fails at once with a {@link ConfigException}.
   *
   * @throws JoinException if the issuer refused the join (the message says why)
   * @throws RenewalException if no identity came within the start timeout (with the last failure)
   */
  public Identity start() {
    return engine.start();
  }

  /** The newest identity. Never blocks. */
  public Identity current() {
    ensureOpen();
    Identity id = engine.current();
    if (id == null) {
      throw new IllegalStateException("no identity yet: call start() first");
    }
    return id;
  }

  /** One context for the life of this object; its key manager serves the newest identity per handshake. */
  public SSLContext sslContext() {
    ensureOpen();
    return engine.sslContext();
  }

  /**
   * A context presenting this identity but trusting {@code serverTrust}: for servers whose
   * certificates another CA issued. Like {@link #sslContext()} it starts a new session cache at every
   * rotation. Make one per client and keep it; it is released when no client holds it.
   */
  public SSLContext sslContext(javax.net.ssl.X509TrustManager serverTrust) {
    ensureOpen();
    return engine.sslContext(Objects.requireNonNull(serverTrust, "serverTrust"));
  }

  public X509ExtendedKeyManager keyManager() {
    ensureOpen();
    return engine.keyManager();
  }

  /** Trusts the issuer's current trust bundle, read per handshake. */
  public X509ExtendedTrustManager trustManager() {
    ensureOpen();
    return engine.trustManager();
  }

  /**
   * A role-scoped credential (database, Kubernetes, SSH, SVID…), fetched now with the bot identity
   * and kept fresh until the handle or this identity is closed.
   *
   * @throws IssuerException with {@code role_denied} if the roles do not allow the request
   * @throws IllegalStateException before {@link #start()}, or if a handle of the same name is open
   */
  public CredentialHandle credentials(CredentialRequest request) {
    ensureOpen();
    Objects.requireNonNull(request, "request");
    if (CredentialHandle.lookup(request.name()).isPresent()) {
      throw new IllegalStateException("a credential handle named '" + request.name()
          + "' is already open; give the request another name(…)");
    }
    return CredentialHandle.register(engine.credentials(request));
  }

  /**
   * The issuer's newest authorities (X.509, SPIFFE, database, Kubernetes, SSH and the JWT keys) as
   * this client accepted them over the pinned connection; empty before the first identity.
   */
  public java.util.Optional<TrustBundle> trustBundle() {
    dev.machineid.core.internal.renewal.AuthoritySnapshot a = engine.authoritySnapshot();
    if (a == null) {
      return java.util.Optional.empty();
    }
    TrustBundleCache cached = trustBundle.get();
    if (cached != null && cached.snapshot() == a) {
      return java.util.Optional.of(cached.bundle());
    }
    TrustBundle b = dev.machineid.core.internal.renewal.TrustBundles.of(a);
    trustBundle.set(new TrustBundleCache(a, b));
    return java.util.Optional.of(b);
  }

  /** The bundle made from one authority snapshot, so callers get the same value until it changes. */
  private record TrustBundleCache(
      dev.machineid.core.internal.renewal.AuthoritySnapshot snapshot, TrustBundle bundle) {}

  private final java.util.concurrent.atomic.AtomicReference<TrustBundleCache> trustBundle =
      new java.util.concurrent.atomic.AtomicReference<>();

  public Health health() {
    return engine.health();
  }

  /** Each output's last write (pending, ok, or the error), in the order the outputs were added. */
  public List<OutputStatus> outputStatus() {
    return engine.outputStatus();
  }

  /** Forces a renewal now; completes with the new identity or the failure. */
  public CompletableFuture<Identity> renewNow() {
    ensureOpen();
    return engine.renewNow();
  }

  public void addListener(IdentityListener listener) {
    ensureOpen();
    engine.addListener(listener);
  }

  public void removeListener(IdentityListener listener) {
    engine.removeListener(listener);
  }

  /**
   * Adds a consumer of every new identity that runs before outputs are written and before any
   * {@link IdentityListener} hears of it, right after the SDK's own TLS contexts start new session
   * caches: for a component that must drop what the old identity made (a connection pool's idle
   * connections) before the application acts on the new one. Called on the renewal thread, for the
   * first identity and every renewal; keep it short. An exception it throws is logged and ignored.
   * {@code dev.machineid.okhttp.OkHttpTls} (module identity-okhttp) evicts its pool this way.
   */
  public void addRotationHook(java.util.function.Consumer<Identity> hook) {
    ensureOpen();
    engine.addRotationHook(Objects.requireNonNull(hook, "hook"));
  }

  public void removeRotationHook(java.util.function.Consumer<Identity> hook) {
    engine.removeRotationHook(hook);
  }

  /** Stops renewal and releases threads. Idempotent. */
  @Override
  public void close() {
    engine.close();
  }

  private void ensureOpen() {
    if (engine.isClosed()) {
      throw new IllegalStateException("MachineIdentity is closed");
    }
  }

  /** Builds a {@link MachineIdentity}; fails fast on a bad or repeated setting. */
  public static final class Builder {
    private URI issuer;
    private final List<CaPin> pins = new ArrayList<>();
    private final List<X509Certificate> caCertificates = new ArrayList<>();
    private boolean insecure;
    private JoinMethod joinMethod;
    private String joinMethodName;
    private Map<String, Object> joinSettings;
    private Storage storage;
    private Duration ttl;
    private RenewalPolicy policy;
    private KeyAlgorithm keyAlgorithm;
    private Clock clock;
    private ScheduledExecutorService executor;
    private Duration startTimeout;
    private Duration requestTimeout;
    private final List<IdentityListener> listeners = new ArrayList<>();
    private final List<Output> outputs = new ArrayList<>();
    private boolean oneShot;
    private boolean sshCertificate;
    private RandomGenerator random;

    private Builder() {}

    private static void once(Object current, String name) {
      if (current != null) {
        throw new IllegalStateException(name + " is already set");
      }
    }

    /** The issuer's address, {@code https://host:port}. */
    public Builder issuer(String address) {
      Objects.requireNonNull(address, "issuer");
      try {
        return issuer(URI.create(address.trim()));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "issuer address '" + address + "' is not a URI: " + e.getMessage(), e);
      }
    }

    public Builder issuer(URI address) {
      Objects.requireNonNull(address, "issuer");
      once(issuer, "issuer");
      if (!"https".equalsIgnoreCase(address.getScheme()) || address.getHost() == null) {
        throw new IllegalArgumentException(
            "issuer address must be https://host[:port], got '" + address + "'");
      }
      this.issuer = address;
      return this;
    }

    /** CA pins, {@code sha256:<hex>} of the authority's SubjectPublicKeyInfo, as {@code issuer status} prints. */
    public Builder caPins(String... pins) {
      for (String p : pins) {
        caPin(CaPin.parse(p));
      }
      return this;
    }

    public Builder caPin(CaPin pin) {
      pins.add(Objects.requireNonNull(pin, "pin"));
      return this;
    }

    /** Trusts the issuer through CA certificates in a PEM file instead of (or beside) pins. */
    public Builder caFile(Path pemFile) {
      Objects.requireNonNull(pemFile, "caFile");
      try {
        List<X509Certificate> certs = Pem.certificates(Files.readString(pemFile));
        if (certs.isEmpty()) {
          throw new IllegalArgumentException("CA file " + pemFile + " holds no PEM certificate");
        }
        caCertificates.addAll(certs);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot read CA file " + pemFile + ": " + e.getMessage(), e);
      }
      return this;
    }

    /** Trusts any issuer certificate. For local experiments only; logs a loud warning. */
    public Builder insecure(boolean insecure) {
      this.insecure = insecure;
      return this;
    }

    /** Joins with the single-use {@code token} method. */
    public Builder token(String token) {
      return joinMethod(new TokenJoinMethod(token));
    }

    /** A join method instance. */
    public Builder joinMethod(JoinMethod method) {
      Objects.requireNonNull(method, "joinMethod");
      once(joinMethod != null ? joinMethod : joinMethodName, "join method");
      this.joinMethod = method;
      return this;
    }

    /** A join method by name, made by its {@link dev.machineid.core.join.JoinMethodProvider} at build time. */
    public Builder joinMethod(String name, Map<String, ?> settings) {
      Objects.requireNonNull(name, "joinMethod");
      Objects.requireNonNull(settings, "settings");
      once(joinMethod != null ? joinMethod : joinMethodName, "join method");
      this.joinMethodName = name;
      this.joinSettings = new LinkedHashMap<>(settings);
      return this;
    }

    public Builder storage(Storage storage) {
      once(this.storage, "storage");
      this.storage = Objects.requireNonNull(storage, "storage");
      return this;
    }

    /** Lifetime of the bot certificate; default 1 h, at most 24 h. */
    public Builder credentialTtl(Duration ttl) {
      Objects.requireNonNull(ttl, "credentialTtl");
      once(this.ttl, "credentialTtl");
      if (ttl.toSeconds() < 1 || ttl.compareTo(Duration.ofHours(24)) > 0) {
        throw new IllegalArgumentException("credentialTtl must be between 1s and 24h, got " + ttl);
      }
      this.ttl = ttl;
      return this;
    }

    public Builder renewalPolicy(RenewalPolicy policy) {
      once(this.policy, "renewalPolicy");
      this.policy = Objects.requireNonNull(policy, "renewalPolicy");
      return this;
    }

    public Builder keyAlgorithm(KeyAlgorithm algorithm) {
      once(this.keyAlgorithm, "keyAlgorithm");
      this.keyAlgorithm = Objects.requireNonNull(algorithm, "keyAlgorithm");
      return this;
    }

    /**
     * The clock for validity decisions (expiry, health) and the times health reports; default the
     * system UTC clock. Schedules are delays asked of the {@link #executor executor}, so a test that
     * moves this clock pairs it with a scheduler that follows it (the testkit's {@code ManualScheduler}
     * on its {@code MutableClock}).
     */
    public Builder clock(Clock clock) {
      once(this.clock, "clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * The scheduler: renewals, retries, the expiry watch, heartbeats and every {@link CredentialHandle}'s
     * refreshes run on it, one attempt at a time per credential. Any {@link ScheduledExecutorService};
     * a caller's is not shut down on close. Default: one daemon thread, {@code machineid-renewal-<n>}.
     * Tests pass the testkit's {@code ManualScheduler}, which runs what is due as the test moves its
     * clock forward, with the same clock given to {@link #clock} and a seeded {@link #random}.
     */
    public Builder executor(ScheduledExecutorService executor) {
      once(this.executor, "executor");
      this.executor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * The source of the random renewal window and retry jitter; default a new {@link java.util.Random}.
     * Tests pass a seeded generator (with {@link #executor} and {@link #clock}) to replay a schedule.
     */
    public Builder random(RandomGenerator random) {
      once(this.random, "random");
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /** How long {@link #start()} waits for the first identity; default 30 s. */
    public Builder startTimeout(Duration timeout) {
      once(this.startTimeout, "startTimeout");
      this.startTimeout = positive(timeout, "startTimeout");
      return this;
    }

    /** Timeout of one call to the issuer; default 10 s. */
    public Builder requestTimeout(Duration timeout) {
      once(this.requestTimeout, "requestTimeout");
      this.requestTimeout = positive(timeout, "requestTimeout");
      return this;
    }

    public Builder listener(IdentityListener listener) {
      listeners.add(Objects.requireNonNull(listener, "listener"));
      return this;
    }

    public Builder output(Output output) {
      outputs.add(Objects.requireNonNull(output, "output"));
      return this;
    }

    /**
     * Marks a process that writes its outputs once and exits (the agent's {@code --oneshot}): the
     * heartbeat says so, and is sent before {@link MachineIdentity#start()} returns.
     */
    public Builder oneShot(boolean oneShot) {
      this.oneShot = oneShot;
      return this;
    }

    /**
     * Asks the issuer, at every join and renewal, for an OpenSSH user certificate of the identity's
     * own key, naming the logins the bot's roles allow ({@link Identity#sshCertificate()}); the bot
     * then logs in to hosts that trust the issuer's {@code ssh_user} authority as itself. Off by
     * default; on whenever an output renders it (the {@code identity} output does). A bot whose
     * roles allow no login gets none.
     */
    public Builder sshCertificate(boolean sshCertificate) {
      this.sshCertificate = sshCertificate;
      return this;
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.isNegative() || d.isZero()) {
        throw new IllegalArgumentException(name + " must be positive, got " + d);
      }
      return d;
    }

    /**
     * Builds without contacting the issuer.
     *
     * @throws ConfigException if the issuer, the join method or any trust setting is missing
     */
    public MachineIdentity build() {
      if (issuer == null) {
        throw new ConfigException(
            "no issuer address: set issuer(\"https://host:port\") (config: issuer)");
      }
      if (pins.isEmpty() && caCertificates.isEmpty() && !insecure) {
        throw new ConfigException("no CA pin and no CA file for issuer " + issuer
            + ": set caPins(\"sha256:…\") (run 'issuer status' on the issuer to print it), caFile(path), "
            + "or insecure(true) for local experiments only");
      }
      if (joinMethod == null && joinMethodName == null) {
        throw new ConfigException(
            "no join method: set token(…) or joinMethod(name, settings) (config: onboarding.join_method)");
      }
      JoinMethod method =
          joinMethod != null ? joinMethod : JoinMethods.create(joinMethodName, joinSettings);
      if (insecure) {
        LOG.warn(
            "INSECURE: the issuer's TLS certificate is NOT verified for {}. Anyone on the network path can "
                + "impersonate the issuer. Never use this outside a local experiment; set a CA pin instead.",
            issuer);
      }
      Clock c = clock != null ? clock : Clock.systemUTC();
      boolean owns = executor == null;
      ScheduledExecutorService ex = owns ? defaultExecutor() : executor;
      IdentityEngine engine = new IdentityEngine(new IdentityEngine.Settings(
          issuer,
          new PinningTrustManager(pins, caCertificates, insecure, c),
          method,
          storage != null ? storage : Storage.memory(),
          ttl != null ? ttl : Duration.ofHours(1),
          policy != null ? policy : RenewalPolicy.defaults(),
          keyAlgorithm != null ? keyAlgorithm : KeyAlgorithm.EC_P256,
          c,
          ex,
          owns,
          startTimeout != null ? startTimeout : Duration.ofSeconds(30),
          requestTimeout != null ? requestTimeout : Duration.ofSeconds(10),
          List.copyOf(listeners),
          List.copyOf(outputs),
          oneShot,
          sshCertificate || outputs.stream().anyMatch(Output::rendersSshCertificate),
          random != null ? random : new java.util.Random()));
      MachineIdentity identity = new MachineIdentity(engine);
      for (Output o : outputs) {
        o.attach(identity);
      }
      return identity;
    }

    private static final AtomicInteger EXECUTORS = new AtomicInteger();

    private static ScheduledExecutorService defaultExecutor() {
      int n = EXECUTORS.incrementAndGet();
      ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
        Thread t = new Thread(r, "machineid-renewal-" + n);
        t.setDaemon(true);
        return t;
      });
      ex.setRemoveOnCancelPolicy(true);
      return ex;
    }
  }
}
