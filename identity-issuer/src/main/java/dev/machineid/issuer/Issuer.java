package dev.machineid.issuer;

import dev.machineid.core.CaPin;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.admin.AdminApi;
import dev.machineid.issuer.internal.admin.AdminService;
import dev.machineid.issuer.internal.audit.AuditService;
import dev.machineid.issuer.internal.audit.Auditor;
import dev.machineid.issuer.internal.authority.KeyMaterial;
import dev.machineid.issuer.internal.authority.KeysDirectory;
import dev.machineid.issuer.internal.authority.PurposeAuthorities;
import dev.machineid.issuer.internal.authority.PurposeAuthorities.Purpose;
import dev.machineid.issuer.internal.authority.SigningService;
import dev.machineid.issuer.internal.authority.SshAuthorities;
import dev.machineid.issuer.internal.http.ApiHandler;
import dev.machineid.issuer.internal.http.HttpsServer;
import dev.machineid.issuer.internal.http.IssuerMetrics;
import dev.machineid.issuer.internal.http.RateLimiter;
import dev.machineid.issuer.internal.http.RequestDeadlines;
import dev.machineid.issuer.internal.http.TrustedProxies;
import dev.machineid.issuer.internal.join.Challenges;
import dev.machineid.issuer.internal.join.CredentialService;
import dev.machineid.issuer.internal.join.IdentityDecisions;
import dev.machineid.issuer.internal.join.Verifiers;
import dev.machineid.issuer.internal.resources.BotService;
import dev.machineid.issuer.internal.resources.InstanceService;
import dev.machineid.issuer.internal.resources.IssuerServices;
import dev.machineid.issuer.internal.resources.LockService;
import dev.machineid.issuer.internal.resources.RoleService;
import dev.machineid.issuer.internal.resources.TokenService;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.VerifierContext;
import java.net.URI;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference issuer: an HTTPS server speaking protocol v1, and the accessors to its resource
 * services, which the admin HTTP API ({@code /v1/admin/...}) calls too.
 *
 * <pre>{@code
 * try (Issuer issuer = Issuer.builder().trustDomain("example.test").build().start()) {
 *   issuer.bots().create("backup");
 *   String token = issuer.tokens().create("backup", Duration.ofMinutes(10));
 *   // give issuer.url(), issuer.caPin() and the token to the bot
 * }
 * }</pre>
 *
 * <p>This class keeps the lifecycle ({@link #start()}, {@link #stop()}, {@link #close()}), where
 * the issuer listens ({@link #url()}), what clients pin and trust ({@link #caPin()},
 * {@link #authorityCertificate()}, {@link #authority()}) and its metrics. Everything an operator
 * manages is a resource service, built once with the issuer: {@link #bots()}, {@link #roles()},
 * {@link #tokens()}, {@link #instances()}, {@link #locks()}, {@link #audit()},
 * {@link #signing()} and {@link #admins()}.
 *
 * <p>Keys (authority key and certificate, challenge MAC key) are loaded or created when the issuer
 * is built, so {@link #caPin()} works before {@link #start()}. {@link #stop()} unbinds; a later
 * {@link #start()} binds the same port with the same keys and store. {@link #close()} ends the
 * object; every method afterwards, of the issuer and of its services, throws
 * {@link IllegalStateException}.
 *
 * <p>Service methods throw {@link IllegalArgumentException} for an invalid value (a bot name not
 * matching {@code [a-z0-9][a-z0-9._-]{0,62}}, a token for an unknown bot) and
 * {@link IllegalStateException} for a conflict with existing state (a bot that already exists).
 */
public final class Issuer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Issuer.class);
  /** Expired tokens are kept this long so that a late client hears {@code token_expired}. */
  private static final Duration TOKEN_RETENTION = Duration.ofDays(1);

  private static final Duration CLEANUP_INTERVAL = Duration.ofMinutes(1);

  private final String trustDomain;
  private final String host;
  private final int configuredPort;
  private final List<String> hostNames;
  private final Clock clock;
  private final Duration defaultTtl;
  private final Duration maxTtl;
  private final IssuerStore store;
  /** True when the issuer made its store (the default) and so closes it. */
  private final boolean ownsStore;

  private final int maxRequestBytes;
  private final SecureRandom random;
  private final KeyMaterial keys;
  private final CredentialService credentials;
  private final IdentityDecisions engine;
  private final IssuerServices services;
  private final Auditor audit;
  private final Duration shutdownGrace;
  private final Duration idleTimeout;
  private final Duration requestTimeout;
  private final TrustedProxies trustedProxies;
  private final double rateLimitPerSecond;
  private final int rateLimitBurst;
  private final IssuerMetrics metrics = new IssuerMetrics();

  private final Object lifecycle = new Object();
  private HttpsServer server;
  private int boundPort;
  private ScheduledExecutorService cleanup;
  private volatile boolean closed;

  private Issuer(Builder b) {
    this.trustDomain = b.trustDomain;
    this.host = b.host;
    this.configuredPort = b.port;
    this.hostNames = b.hostNames;
    // Whole microseconds: what the store keeps (PostgreSQL timestamps), so stored values read back
    // equal.
    this.clock = Clock.tick(b.clock, Duration.ofNanos(1_000));
    this.defaultTtl = b.defaultTtl;
    this.maxTtl = b.maxTtl;
    this.store = b.store != null ? b.store : IssuerStore.inMemory();
    this.ownsStore = b.store == null;
    this.maxRequestBytes = b.maxRequestBytes;
    this.shutdownGrace = b.shutdownGrace;
    this.idleTimeout = b.idleTimeout;
    this.requestTimeout = b.requestTimeout;
    this.trustedProxies = b.trustedProxies;
    this.rateLimitPerSecond = b.rateLimitPerSecond;
    this.rateLimitBurst = b.rateLimitBurst;
    this.random = new SecureRandom();
    Instant now = clock.instant();
    if (b.keysDirectory != null) {
      KeysDirectory.check(b.keysDirectory);
    }
    this.keys = b.keysDirectory == null
        ? KeyMaterial.generate(trustDomain, now, random)
        : KeyMaterial.loadOrCreate(b.keysDirectory, trustDomain, now, random);
    // verifiers read token resources (rules of delegated methods) by the name the client sent
    dev.machineid.issuer.store.TokenStore tokenStore = this.store;
    Map<String, JoinVerifier> verifiers = Verifiers.discover(
        new VerifierContext(
            trustDomain, clock, Map.of(), name -> tokenStore.findToken(Hashes.tokenId(name))),
        b.verifiers,
        b.verifierSettings);
    this.audit = new Auditor(store, clock);
    IdentityDecisions base = new IdentityDecisions(
        trustDomain,
        defaultTtl,
        maxTtl,
        clock,
        random,
        store,
        keys.authority(),
        new Challenges(keys.macKey(), random),
        verifiers,
        audit);
    // one authority per purpose beside the issuer authority (docs/architecture.md §5)
    PurposeAuthorities purposes = b.keysDirectory == null
        ? PurposeAuthorities.generate(trustDomain, now, random)
        : PurposeAuthorities.loadOrCreate(b.keysDirectory, trustDomain, now, random);
    SshAuthorities ssh = b.keysDirectory == null
        ? SshAuthorities.generate(random)
        : SshAuthorities.loadOrCreate(b.keysDirectory, random);
    base = base.withSshAuthorities(ssh);
    this.engine = base.withAuthority(new Authority(
        trustDomain,
        List.of(Pem.encode(keys.authority().certificate())),
        List.of(Pem.encode(purposes.get(Purpose.SPIFFE).certificate())),
        List.of(Pem.encode(purposes.get(Purpose.DATABASE_CLIENT).certificate())),
        List.of(Pem.encode(purposes.get(Purpose.DATABASE_SERVER).certificate())),
        List.of(Pem.encode(purposes.get(Purpose.KUBERNETES_CLIENT).certificate())),
        List.of(ssh.userAuthority()),
        List.of(ssh.hostAuthority()),
        CredentialService.jwks(purposes)));
    this.credentials = new CredentialService(engine, purposes, ssh);
    Runnable open = this::ensureOpen;
    this.services = new IssuerServices(
        new BotService(store, audit, clock, open),
        new RoleService(store, audit, clock, open),
        new TokenService(store, audit, clock, random, engine.verifiers().keySet(), open),
        new InstanceService(store, clock, open),
        new LockService(store, audit, clock, open),
        new AuditService(store, open),
        new SigningService(purposes, ssh, audit, clock, b.signMaxTtl, open),
        new AdminService(store, audit, keys.authority(), trustDomain, clock, random, open));
  }

  public static Builder builder() {
    return new Builder();
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Binds and serves. Idempotent while running. After {@link #stop()}, binds the port it had
   * before.
   *
   * @throws IllegalStateException if closed, or the port cannot be bound
   */
  public Issuer start() {
    synchronized (lifecycle) {
      ensureOpen();
      if (server != null) {
        return this;
      }
      int port = boundPort > 0 ? boundPort : configuredPort;
      try {
        ApiHandler handler = new ApiHandler(
                engine,
                maxRequestBytes,
                new AdminApi(
                    services,
                    trustDomain,
                    engine.authority(),
                    engine.verifiers().keySet(),
                    this::url,
                    keys.authority(),
                    clock,
                    audit),
                metrics,
                rateLimitPerSecond > 0
                    ? new RateLimiter(
                        rateLimitPerSecond, rateLimitBurst, () -> nanos(clock.instant()))
                    : null)
            .withCredentials(credentials)
            .withClock(clock)
            .withReadiness(
                store instanceof dev.machineid.issuer.store.JdbcStore jdbc
                    ? jdbc::ready
                    : () -> true);
        server = HttpsServer.start(
            host,
            port,
            hostNames,
            keys.authority(),
            clock,
            random,
            handler,
            shutdownGrace,
            idleTimeout,
            new RequestDeadlines(requestTimeout, System::nanoTime, metrics::timedOut),
            trustedProxies);
      } catch (Exception e) {
        throw new IllegalStateException(
            "cannot start the issuer on " + host + ":" + port + ": " + e.getMessage(), e);
      }
      boundPort = server.port();
      if (cleanup == null) {
        cleanup = Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "machineid-issuer-cleanup");
          t.setDaemon(true);
          return t;
        });
        cleanup.scheduleWithFixedDelay(
            this::cleanUp,
            CLEANUP_INTERVAL.toMillis(),
            CLEANUP_INTERVAL.toMillis(),
            TimeUnit.MILLISECONDS);
      }
      LOG.info(
          "issuer listening on {} for trust domain {}; CA pin {}; join methods {}",
          url(),
          trustDomain,
          caPin(),
          engine.verifiers().keySet());
      return this;
    }
  }

  /** Stops serving; keys, store and port are kept for a later {@link #start()}. Idempotent. */
  public void stop() {
    synchronized (lifecycle) {
      ensureOpen();
      stopServer();
    }
  }

  private void stopServer() {
    if (server != null) {
      try {
        server.stop();
      } catch (Exception e) {
        LOG.warn("error while stopping the issuer's HTTPS server", e);
      }
      server = null;
      LOG.info("issuer on port {} stopped", boundPort);
    }
  }

  /** Stops serving and ends this object. Idempotent. */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (closed) {
        return;
      }
      stopServer();
      if (cleanup != null) {
        cleanup.shutdownNow();
      }
      if (ownsStore) {
        store.close();
      }
      closed = true;
    }
  }

  private void cleanUp() {
    try {
      int n = store.deleteExpired(clock.instant(), TOKEN_RETENTION);
      if (n > 0) {
        LOG.debug("dropped {} expired challenge and token records", n);
      }
    } catch (RuntimeException e) {
      LOG.warn("cleaning up expired records failed", e);
    }
  }

  /** The bound port. @throws IllegalStateException if never started */
  public int port() {
    synchronized (lifecycle) {
      ensureOpen();
      if (boundPort == 0) {
        throw new IllegalStateException("the issuer has not been started; call start() first");
      }
      return boundPort;
    }
  }

  /** {@code https://<host>:<port>}; the host is the listen address, or the first host name for a wildcard address. */
  public URI url() {
    int p = port();
    String h = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")
        ? hostNames.get(0)
        : host;
    if (h.contains(":") && !h.startsWith("[")) {
      h = "[" + h + "]";
    }
    return URI.create("https://" + h + ":" + p);
  }

  public String trustDomain() {
    return trustDomain;
  }

  /** The pin of the issuer authority, for clients' first contact. */
  public CaPin caPin() {
    ensureOpen();
    return CaPin.of(keys.authority().certificate());
  }

  /** The issuer authority: signs the TLS certificate and bot identities. */
  public X509Certificate authorityCertificate() {
    ensureOpen();
    return keys.authority().certificate();
  }

  /**
   * The trust bundle served at {@code /v1/authority}, in its wire form: the issuer is the other end
   * of the protocol, and core exports the wire model to it.
   */
  @SuppressWarnings("exports") // the wire model is exported to the issuer's module only, on purpose
  public Authority authority() {
    ensureOpen();
    return engine.authority();
  }

  // ------------------------------------------------------------------ resource services

  /** Bots: create, update, list, find, delete. */
  public Bots bots() {
    ensureOpen();
    return services.bots();
  }

  /** Role resources: create, update, list, find, delete. */
  public Roles roles() {
    ensureOpen();
    return services.roles();
  }

  /** Join tokens: create, list, delete. */
  public Tokens tokens() {
    ensureOpen();
    return services.tokens();
  }

  /** Bot instances that joined, each with whether a lock names it now. */
  public Instances instances() {
    ensureOpen();
    return services.instances();
  }

  /** Locks: create, list, remove. */
  public Locks locks() {
    ensureOpen();
    return services.locks();
  }

  /** The hash-chained audit log: read, verify, prune. */
  public Audit audit() {
    ensureOpen();
    return services.audit();
  }

  /** Certificates for targets ({@code issuer sign}): database servers and SSH hosts. */
  public Signing signing() {
    ensureOpen();
    return services.signing();
  }

  /** Admins of {@code /v1/admin/...} and their client certificates. */
  public Admins admins() {
    ensureOpen();
    return services.admins();
  }

  /** Default of {@link Builder#signMaxTtl}: 90 days. */
  public static final Duration DEFAULT_SIGN_MAX_TTL = Duration.ofDays(90);

  /** Upper limit of {@link Builder#signMaxTtl}: 397 days, the CA/Browser Forum's limit for server certificates. */
  public static final Duration LIMIT_SIGN_MAX_TTL = Duration.ofDays(397);

  /** The join methods this issuer verifies. */
  public Set<String> joinMethods() {
    ensureOpen();
    return engine.verifiers().keySet();
  }

  /** The rate limiter's time: the issuer's clock, in nanoseconds since the epoch. */
  private static long nanos(java.time.Instant t) {
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }

  /** The issuer's metrics in the Prometheus text format, as served at {@code /metrics}. */
  public String metricsText() {
    ensureOpen();
    return metrics.scrape();
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException("the issuer is closed");
    }
  }

  // ------------------------------------------------------------------ builder

  /**
   * Settings for an {@link Issuer}. Each setting may be given once ({@link IllegalStateException}
   * otherwise); invalid values fail at once with {@link IllegalArgumentException}.
   */
  public static final class Builder {
    private final Set<String> given = new HashSet<>();
    private String trustDomain = "machineid.local";
    private String host = "127.0.0.1";
    private int port = 0;
    private List<String> hostNames = List.of("localhost", "127.0.0.1");
    private Clock clock = Clock.systemUTC();
    private Duration defaultTtl = Duration.ofHours(1);
    private Duration maxTtl = Duration.ofHours(24);
    private Duration signMaxTtl = DEFAULT_SIGN_MAX_TTL;
    private Path keysDirectory;
    private IssuerStore store;
    private int maxRequestBytes = 64 * 1024;
    private final List<JoinVerifier> verifiers = new ArrayList<>();
    private final Map<String, Map<String, Object>> verifierSettings = new LinkedHashMap<>();
    private Duration shutdownGrace = Duration.ZERO;
    private Duration idleTimeout = Duration.ofSeconds(30);
    private Duration requestTimeout = Duration.ofSeconds(10);
    private TrustedProxies trustedProxies;
    private double rateLimitPerSecond;
    private int rateLimitBurst;

    private Builder() {}

    private void once(String setting) {
      if (!given.add(setting)) {
        throw new IllegalStateException(setting + " was already set");
      }
    }

    /** The SPIFFE trust domain; default {@code machineid.local}. */
    public Builder trustDomain(String trustDomain) {
      once("trustDomain");
      new SpiffeId(Objects.requireNonNull(trustDomain, "trustDomain"), "");
      if (trustDomain.isEmpty()) {
        throw new IllegalArgumentException("trust domain must not be empty");
      }
      this.trustDomain = trustDomain;
      return this;
    }

    /** Listen address; default {@code 127.0.0.1} and port 0 (ephemeral). */
    public Builder listen(String host, int port) {
      once("listen");
      Objects.requireNonNull(host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("listen host must not be blank");
      }
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0 to 65535, got " + port);
      }
      this.host = host;
      this.port = port;
      return this;
    }

    /** Names and addresses in the TLS certificate; default {@code localhost}, {@code 127.0.0.1}. */
    public Builder hostNames(List<String> hostNames) {
      once("hostNames");
      List<String> copy = List.copyOf(Objects.requireNonNull(hostNames, "hostNames"));
      if (copy.isEmpty() || copy.stream().anyMatch(String::isBlank)) {
        throw new IllegalArgumentException("hostNames must hold at least one non-blank name");
      }
      this.hostNames = copy;
      return this;
    }

    /** The clock for every validity, expiry and challenge decision; default system UTC. */
    public Builder clock(Clock clock) {
      once("clock");
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** TTL of bot certificates when the client asks for none; default 1 h. */
    public Builder defaultTtl(Duration ttl) {
      once("defaultTtl");
      this.defaultTtl = positive(ttl, "defaultTtl");
      return this;
    }

    /** Largest TTL a client may ask for (above it: {@code ttl_exceeded}); default and at most 24 h. */
    public Builder maxTtl(Duration ttl) {
      once("maxTtl");
      positive(ttl, "maxTtl");
      if (ttl.compareTo(Duration.ofHours(24)) > 0) {
        throw new IllegalArgumentException(
            "maxTtl must not exceed 24h (bot credentials are short-lived), got " + ttl);
      }
      this.maxTtl = ttl;
      return this;
    }

    /**
     * Longest lifetime of a target certificate signed by {@code issuer sign} (database servers, SSH
     * hosts); default {@link #DEFAULT_SIGN_MAX_TTL}, at most {@link #LIMIT_SIGN_MAX_TTL}.
     */
    public Builder signMaxTtl(Duration ttl) {
      once("signMaxTtl");
      positive(ttl, "signMaxTtl");
      if (ttl.compareTo(LIMIT_SIGN_MAX_TTL) > 0) {
        throw new IllegalArgumentException(
            "signMaxTtl must not exceed " + LIMIT_SIGN_MAX_TTL.toDays() + " days, got " + ttl);
      }
      this.signMaxTtl = ttl;
      return this;
    }

    /**
     * Keep the authority and MAC keys as 0600 files here, created (0700) on first use; default in
     * memory. {@link #build()} refuses an existing directory that belongs to another user (than
     * the one running the issuer, or root) or is writable by its group or others.
     */
    public Builder keysDirectory(Path directory) {
      once("keysDirectory");
      this.keysDirectory = Objects.requireNonNull(directory, "directory");
      return this;
    }

    /** Where state lives; default {@link IssuerStore#inMemory()}. */
    public Builder store(IssuerStore store) {
      once("store");
      this.store = Objects.requireNonNull(store, "store");
      return this;
    }

    /** Largest accepted request body; default 64 KiB. */
    public Builder maxRequestBytes(int bytes) {
      once("maxRequestBytes");
      if (bytes < 1024 || bytes > 16 * 1024 * 1024) {
        throw new IllegalArgumentException("maxRequestBytes must be 1 KiB to 16 MiB, got " + bytes);
      }
      this.maxRequestBytes = bytes;
      return this;
    }

    /**
     * How long {@link #stop()} and {@link #close()} wait for requests in flight to finish before
     * closing connections; default zero (embedded use and tests). {@code issuer serve} uses 5 s.
     */
    public Builder shutdownGrace(Duration grace) {
      once("shutdownGrace");
      Objects.requireNonNull(grace, "grace");
      if (grace.isNegative() || grace.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException("shutdownGrace must be 0 to 1m, got " + grace);
      }
      this.shutdownGrace = grace;
      return this;
    }

    /** A connection idle (or a blocked read or write) this long is closed; default 30 s. */
    public Builder idleTimeout(Duration timeout) {
      once("idleTimeout");
      this.idleTimeout = positive(timeout, "idleTimeout");
      return this;
    }

    /**
     * The overall time limit of a request: a new connection must complete its TLS handshake and
     * send its first request head within it, and each request must be read and answered within it
     * once it reaches the handler; otherwise the connection is closed. Default 10 s; 1 s to 5 min.
     */
    public Builder requestTimeout(Duration timeout) {
      once("requestTimeout");
      Objects.requireNonNull(timeout, "timeout");
      if (timeout.compareTo(Duration.ofSeconds(1)) < 0
          || timeout.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new IllegalArgumentException("requestTimeout must be 1s to 5m, got " + timeout);
      }
      this.requestTimeout = timeout;
      return this;
    }

    /**
     * Behind a TCP load balancer that sends the PROXY protocol (v1 or v2; HAProxy
     * {@code send-proxy}, AWS NLB proxy protocol v2, …): {@code trustedProxies} are the
     * balancers' IP addresses or CIDR networks ({@code 10.0.0.0/8}, {@code 192.0.2.10}). A
     * connection from one of them must start with a PROXY header whose client address (an IP
     * address) is then used for rate limiting, logs and audit events; a connection from anywhere
     * else is plain TLS, and a PROXY header it sends is not parsed and fails its handshake. Default
     * off (no PROXY header is accepted from anyone).
     *
     * @throws IllegalArgumentException if the list is empty or an entry is not an IP address or
     *     CIDR network (host names are refused, not resolved)
     */
    public Builder proxyProtocol(List<String> trustedProxies) {
      once("proxyProtocol");
      this.trustedProxies =
          TrustedProxies.of(Objects.requireNonNull(trustedProxies, "trustedProxies"));
      return this;
    }

    /**
     * Limits every call, on every path (the protocol, the admin API, {@code /metrics}), per client
     * address with a token bucket, checked before anything else about the request; above it
     * clients get {@code rate_limited} (429) with {@code Retry-After}. Default: no limit
     * ({@code issuer serve} sets 20/s with a burst of 40).
     */
    public Builder rateLimit(double perSecond, int burst) {
      once("rateLimit");
      if (!(perSecond > 0) || perSecond > 1_000_000 || burst < 1) {
        throw new IllegalArgumentException(
            "rateLimit needs perSecond > 0 and burst >= 1, got " + perSecond + " and " + burst);
      }
      this.rateLimitPerSecond = perSecond;
      this.rateLimitBurst = burst;
      return this;
    }

    /** Adds a verifier; it wins over a discovered provider of the same name. May be called repeatedly. */
    public Builder verifier(JoinVerifier verifier) {
      Objects.requireNonNull(verifier, "verifier");
      if (verifiers.stream().anyMatch(v -> v.name().equals(verifier.name()))) {
        throw new IllegalStateException(
            "a verifier for join method '" + verifier.name() + "' was already added");
      }
      verifiers.add(verifier);
      return this;
    }

    /**
     * Settings for one join method's verifier, handed to it as {@link VerifierContext#settings()}
     * (e.g. {@code iam}: {@code additional_sts_endpoints}, {@code sts_ca_pem}; {@code ec2}:
     * {@code additional_certificates}, {@code max_instance_age}). Once per method.
     */
    public Builder verifierSettings(String method, Map<String, Object> settings) {
      Objects.requireNonNull(method, "method");
      Objects.requireNonNull(settings, "settings");
      if (verifierSettings.containsKey(method)) {
        throw new IllegalStateException(
            "verifier settings for join method '" + method + "' were already set");
      }
      verifierSettings.put(method, Map.copyOf(settings));
      return this;
    }

    /**
     * Builds the issuer (not yet listening): loads or creates keys and discovers verifiers.
     *
     * @throws IllegalArgumentException if defaultTtl exceeds maxTtl
     */
    public Issuer build() {
      if (defaultTtl.compareTo(maxTtl) > 0) {
        throw new IllegalArgumentException(
            "defaultTtl " + defaultTtl + " exceeds maxTtl " + maxTtl);
      }
      return new Issuer(this);
    }

    private static Duration positive(Duration d, String name) {
      Objects.requireNonNull(d, name);
      if (d.compareTo(Duration.ofSeconds(1)) < 0) {
        throw new IllegalArgumentException(name + " must be at least 1s, got " + d);
      }
      return d;
    }
  }
}
