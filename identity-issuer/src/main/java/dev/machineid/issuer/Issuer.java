package dev.machineid.issuer;

import dev.machineid.core.CaPin;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.internal.AdminApi;
import dev.machineid.issuer.internal.AdminCertificates;
import dev.machineid.issuer.internal.ApiHandler;
import dev.machineid.issuer.internal.Auditor;
import dev.machineid.issuer.internal.Challenges;
import dev.machineid.issuer.internal.Engine;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.HttpsServer;
import dev.machineid.issuer.internal.IssuerMetrics;
import dev.machineid.issuer.internal.RateLimiter;
import dev.machineid.issuer.internal.RequestDeadlines;
import dev.machineid.issuer.internal.TokenRules;
import dev.machineid.issuer.internal.KeyMaterial;
import dev.machineid.issuer.internal.KeysDirectory;
import dev.machineid.issuer.internal.TrustedProxies;
import dev.machineid.issuer.internal.CredentialService;
import dev.machineid.issuer.internal.PurposeAuthorities;
import dev.machineid.issuer.internal.PurposeAuthorities.Purpose;
import dev.machineid.issuer.internal.SshAuthorities;
import dev.machineid.issuer.internal.Verifiers;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.VerifierContext;
import java.net.URI;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reference issuer: an HTTPS server speaking protocol v1 plus a Java admin API.
 *
 * <pre>{@code
 * try (Issuer issuer = Issuer.builder().trustDomain("example.test").build().start()) {
 *   issuer.createBot("backup");
 *   String token = issuer.createToken("backup", Duration.ofMinutes(10));
 *   // give issuer.url(), issuer.caPin() and the token to the bot
 * }
 * }</pre>
 *
 * <p>Keys (authority key and certificate, challenge MAC key) are loaded or created when the issuer
 * is built, so {@link #caPin()} works before {@link #start()}. {@link #stop()} unbinds; a later
 * {@link #start()} binds the same port with the same keys and store. {@link #close()} ends the
 * object; every method afterwards throws {@link IllegalStateException}.
 *
 * <p>Admin methods throw {@link IllegalArgumentException} for an invalid value (a bot name not
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
  private final Duration signMaxTtl;
  private final IssuerStore store;
  /** True when the issuer made its store (the default) and so closes it. */
  private final boolean ownsStore;
  private final int maxRequestBytes;
  private final SecureRandom random;
  private final KeyMaterial keys;
  private final PurposeAuthorities purposes;
  private final SshAuthorities ssh;
  private final CredentialService credentials;
  private final Engine engine;
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
    // Whole microseconds: what the store keeps (PostgreSQL timestamps), so stored values read back equal.
    this.clock = Clock.tick(b.clock, Duration.ofNanos(1_000));
    this.defaultTtl = b.defaultTtl;
    this.maxTtl = b.maxTtl;
    this.signMaxTtl = b.signMaxTtl;
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
    this.keys = b.keysDirectory == null ? KeyMaterial.generate(trustDomain, now, random) : KeyMaterial.loadOrCreate(b.keysDirectory, trustDomain, now, random);
    // verifiers read token resources (rules of delegated methods) by the name the client sent
    dev.machineid.issuer.store.TokenStore tokenStore = this.store;
    Map<String, JoinVerifier> verifiers =
        Verifiers.discover(
            new VerifierContext(trustDomain, clock, Map.of(), name -> tokenStore.findToken(Hashes.tokenId(name))),
            b.verifiers,
            b.verifierSettings);
    this.audit = new Auditor(store, clock);
    Engine base =
        new Engine(trustDomain, defaultTtl, maxTtl, clock, random, store, keys.authority(), new Challenges(keys.macKey(), random), verifiers, audit);
    // one authority per purpose beside the issuer authority (docs/architecture.md §5)
    this.purposes = b.keysDirectory == null
        ? PurposeAuthorities.generate(trustDomain, now, random)
        : PurposeAuthorities.loadOrCreate(b.keysDirectory, trustDomain, now, random);
    this.ssh = b.keysDirectory == null ? SshAuthorities.generate(random) : SshAuthorities.loadOrCreate(b.keysDirectory, random);
    base = base.withSshAuthorities(ssh);
    CredentialService unpublished = new CredentialService(base, purposes, ssh);
    this.engine = base.withAuthority(new Authority(
        trustDomain,
        List.of(Pem.encode(keys.authority().certificate())),
        List.of(Pem.encode(purposes.get(Purpose.SPIFFE).certificate())),
        List.of(Pem.encode(purposes.get(Purpose.DATABASE_CLIENT).certificate())),
        List.of(Pem.encode(purposes.get(Purpose.DATABASE_SERVER).certificate())),
        List.of(Pem.encode(purposes.get(Purpose.KUBERNETES_CLIENT).certificate())),
        List.of(ssh.userAuthority()),
        List.of(ssh.hostAuthority()),
        unpublished.jwks()));
    this.credentials = new CredentialService(engine, purposes, ssh);
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
        ApiHandler handler =
            new ApiHandler(
                engine,
                maxRequestBytes,
                new AdminApi(this, keys.authority(), clock, random),
                metrics,
                rateLimitPerSecond > 0 ? new RateLimiter(rateLimitPerSecond, rateLimitBurst, () -> nanos(clock.instant())) : null)
            .withCredentials(credentials)
            .withClock(clock)
            .withReadiness(store instanceof dev.machineid.issuer.store.JdbcStore jdbc ? jdbc::ready : () -> true);
        server = HttpsServer.start(host, port, hostNames, keys.authority(), clock, random, handler, shutdownGrace, idleTimeout,
            new RequestDeadlines(requestTimeout, System::nanoTime, metrics::timedOut), trustedProxies);
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the issuer on " + host + ":" + port + ": " + e.getMessage(), e);
      }
      boundPort = server.port();
      if (cleanup == null) {
        cleanup =
            Executors.newSingleThreadScheduledExecutor(
                r -> {
                  Thread t = new Thread(r, "machineid-issuer-cleanup");
                  t.setDaemon(true);
                  return t;
                });
        cleanup.scheduleWithFixedDelay(this::cleanUp, CLEANUP_INTERVAL.toMillis(), CLEANUP_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
      }
      LOG.info(
          "issuer listening on {} for trust domain {}; CA pin {}; join methods {}",
          url(), trustDomain, caPin(), engine.verifiers().keySet());
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
    String h = host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]") ? hostNames.get(0) : host;
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

  /** The trust bundle served at {@code /v1/authority}. */
  public Authority authority() {
    ensureOpen();
    return engine.authority();
  }

  // ------------------------------------------------------------------ bots

  public Bot createBot(String name) {
    return createBot(name, List.of(), Map.of());
  }

  /**
   * @throws IllegalArgumentException for an invalid name
   * @throws IllegalStateException if the bot exists
   */
  public Bot createBot(String name, List<String> roles, Map<String, List<String>> traits) {
    ensureOpen();
    Bot bot = new Bot(Bot.validateName(name), roles, traits, clock.instant());
    boolean inserted =
        store.inTransaction(
            tx -> {
              if (!tx.insertBot(bot)) {
                return false;
              }
              audit.success(tx, "bot.created", name, null, Map.of("roles", String.join(",", bot.roles())));
              return true;
            });
    if (!inserted) {
      throw new IllegalStateException("bot '" + name + "' already exists; delete it first or choose another name");
    }
    return bot;
  }

  /**
   * Changes a bot's roles, logins or traits, keeping its instances, tokens and creation time, with
   * its audit event: the next issuance (renewal, {@code /v1/certificates}) follows the new values.
   * A {@code null} argument keeps the current value; {@code traits} replaces every trait but the
   * logins, which {@code logins} replaces (an empty list removes them).
   *
   * @return the updated bot, or empty if there is no bot of that name (nothing changes)
   * @throws IllegalArgumentException if a role is not stored (nothing changes)
   */
  public Optional<Bot> updateBot(String name, List<String> roles, List<String> logins, Map<String, List<String>> traits) {
    ensureOpen();
    Objects.requireNonNull(name, "name");
    return store.inTransaction(
        tx -> {
          Optional<Bot> current = tx.findBot(name);
          if (current.isEmpty()) {
            return Optional.<Bot>empty();
          }
          Bot was = current.get();
          List<String> newRoles = roles == null ? was.roles() : roles;
          for (String r : newRoles) {
            if (tx.findRole(r).isEmpty()) {
              throw new IllegalArgumentException("no role named '" + r + "'; create it first with 'issuer roles create -f role.yaml'");
            }
          }
          Map<String, List<String>> newTraits = new java.util.LinkedHashMap<>(traits == null ? was.traits() : traits);
          newTraits.remove("logins");
          List<String> newLogins = logins != null ? logins : was.traits().getOrDefault("logins", List.of());
          if (!newLogins.isEmpty()) {
            newTraits.put("logins", newLogins);
          }
          Bot bot = new Bot(was.name(), newRoles, newTraits, was.createdAt());
          if (!tx.updateBot(bot)) {
            return Optional.<Bot>empty();
          }
          audit.success(tx, "bot.updated", name, null, Map.of("roles", String.join(",", bot.roles())));
          return Optional.of(bot);
        });
  }

  public List<Bot> bots() {
    ensureOpen();
    return store.bots();
  }

  public Optional<Bot> bot(String name) {
    ensureOpen();
    return store.findBot(Objects.requireNonNull(name, "name"));
  }

  /**
   * Deletes a bot, its instances and its tokens, with its audit event, in one transaction: its
   * certificates authorise nothing from then on (a renewal or credential request in flight on any
   * replica is refused unless it committed first), its unused tokens join nothing, and a bot created
   * later with the same name shares nothing with it. Credentials already issued for targets
   * (databases, SSH, Kubernetes) stay valid until they expire, at most 1 h.
   *
   * @return false if there was no such bot
   */
  public boolean deleteBot(String name) {
    ensureOpen();
    Objects.requireNonNull(name, "name");
    return store.inTransaction(
        tx -> {
          if (!tx.deleteBot(name)) {
            return false;
          }
          audit.success(tx, "bot.deleted", name, null, Map.of());
          return true;
        });
  }

  // ------------------------------------------------------------------ tokens

  /**
   * Creates a single-use {@code token} join token for a bot.
   *
   * @return the secret (32 hex digits, 128 random bits); only its hash is stored
   * @throws IllegalArgumentException if the bot does not exist or the TTL is not positive
   */
  public String createToken(String botName, Duration ttl) {
    ensureOpen();
    Objects.requireNonNull(botName, "botName");
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("token TTL must be positive, got " + ttl);
    }
    if (store.findBot(botName).isEmpty()) {
      throw new IllegalArgumentException("no bot named '" + botName + "'; create it with createBot first");
    }
    byte[] secret = new byte[16];
    random.nextBytes(secret);
    String token = HexFormat.of().formatHex(secret);
    Instant now = clock.instant();
    Token t = new Token(Hashes.tokenId(token), botName, "token", now, now.plus(ttl), null);
    boolean inserted =
        store.inTransaction(
            tx -> {
              if (!tx.insertToken(t)) {
                return false;
              }
              audit.success(tx, "token.created", botName, null, Map.of("token_id", t.shortId(), "join_method", "token", "expires", t.expiresAt().toString()));
              return true;
            });
    if (!inserted) {
      throw new IllegalStateException("token id collision; try again");
    }
    return token;
  }

  /** Tokens, without secrets: {@link Token#id()} is the hex SHA-256 of the secret. */
  public List<Token> tokens() {
    ensureOpen();
    return store.tokens();
  }

  /**
   * Deletes a token given its id (as {@link #tokens()} lists it) or its secret.
   *
   * @return false if there was no such token
   */
  public boolean deleteToken(String idOrSecret) {
    ensureOpen();
    Objects.requireNonNull(idOrSecret, "idOrSecret");
    String id = idOrSecret;
    boolean deleted = store.deleteToken(id);
    if (!deleted) {
      id = Hashes.tokenId(idOrSecret);
      deleted = store.deleteToken(id);
    }
    if (deleted) {
      audit.success("token.deleted", null, null, Map.of("token_id", id.substring(0, 12)));
    }
    return deleted;
  }

  // ------------------------------------------------------------------ instances

  public List<BotInstance> instances(String bot) {
    ensureOpen();
    Instant now = clock.instant();
    List<BotInstance> out = new ArrayList<>();
    for (InstanceRecord r : store.instances(Objects.requireNonNull(bot, "bot"))) {
      out.add(view(r, now));
    }
    return List.copyOf(out);
  }

  public Optional<BotInstance> instance(String id) {
    ensureOpen();
    Instant now = clock.instant();
    return store.findInstance(Objects.requireNonNull(id, "id")).map(r -> view(r, now));
  }

  private BotInstance view(InstanceRecord r, Instant now) {
    boolean locked =
        !store.findActiveLocks(
                List.of(
                    new LockKey(Lock.Target.BOT, r.bot()),
                    new LockKey(Lock.Target.INSTANCE, r.id()),
                    new LockKey(Lock.Target.SERIAL, r.serial()),
                    new LockKey(Lock.Target.TOKEN, r.tokenId()),
                    new LockKey(Lock.Target.IDENTITY, r.attestedIdentity())),
                now)
            .isEmpty();
    return BotInstance.of(r, locked);
  }

  // ------------------------------------------------------------------ locks

  /**
   * Stores a lock made with the {@link Lock} factories.
   *
   * @return the stored lock with its id and creation time
   */
  public Lock lock(Lock lock) {
    ensureOpen();
    Objects.requireNonNull(lock, "lock");
    // a serial in any form tools print it, stored as the issuer writes serials
    String value = lock.target() == Lock.Target.SERIAL ? Lock.normaliseSerial(lock.value()) : lock.value();
    Lock stored = new Lock(UUID.randomUUID().toString(), lock.target(), value, lock.reason(), clock.instant(), lock.expiresAt());
    Map<String, String> d = new LinkedHashMap<>();
    d.put("lock_id", stored.id());
    d.put("target", stored.target().label());
    d.put("value", stored.value());
    d.put("reason", stored.reason());
    if (stored.expiresAt() != null) {
      d.put("expires", stored.expiresAt().toString());
    }
    // The lock and its audit event commit together.
    store.inTransaction(
        tx -> {
          tx.insertLock(stored);
          audit.success(tx, "lock.created", stored.target() == Lock.Target.BOT ? stored.value() : null, stored.target() == Lock.Target.INSTANCE ? stored.value() : null, d);
          return null;
        });
    LOG.warn("lock {} on {} {}: {}", stored.id(), stored.target().label(), stored.value(), stored.reason());
    return stored;
  }

  /** Every lock, including expired ones and those the issuer set itself. */
  public List<Lock> locks() {
    ensureOpen();
    return store.locks();
  }

  /** @return false if there was no such lock */
  public boolean removeLock(String id) {
    ensureOpen();
    Objects.requireNonNull(id, "id");
    return store.inTransaction(
        tx -> {
          if (!tx.deleteLock(id)) {
            return false;
          }
          audit.success(tx, "lock.removed", null, null, Map.of("lock_id", id));
          return true;
        });
  }

  // ------------------------------------------------------------------ audit

  /**
   * A database server certificate ({@code issuer sign}): signed by the {@code database_server}
   * authority, EKU serverAuth, SANs from {@code hostNames}, so clients can use {@code verify-full}.
   *
   * @return the chain, leaf first, then the database server authority
   */
  public List<X509Certificate> signDatabaseServer(java.security.PublicKey key, List<String> hostNames, Duration ttl) {
    ensureOpen();
    java.util.Objects.requireNonNull(key, "key");
    key = dev.machineid.issuer.internal.Keys.check(key);
    hostNames = targetNames(hostNames, "a database server certificate");
    checkSignTtl(ttl);
    var ca = purposes.get(Purpose.DATABASE_SERVER);
    List<org.bouncycastle.asn1.x509.GeneralName> sans = new ArrayList<>();
    for (String h : hostNames) {
      sans.add(dev.machineid.issuer.internal.CertificateAuthority.hostName(h));
    }
    X509Certificate leaf = ca.issueLeaf(
        new org.bouncycastle.asn1.x500.X500NameBuilder(org.bouncycastle.asn1.x500.style.BCStyle.INSTANCE)
            .addRDN(org.bouncycastle.asn1.x500.style.BCStyle.CN, hostNames.get(0)).build(),
        sans, List.of(org.bouncycastle.asn1.x509.KeyPurposeId.id_kp_serverAuth), key, clock.instant(), ttl);
    audit.success("certificate.signed", null, null, Map.of("kind", "database_server",
        "serial", dev.machineid.issuer.internal.CertificateAuthority.serialHex(leaf), "subject", String.join(",", hostNames)));
    return List.of(leaf, ca.certificate());
  }

  /**
   * An OpenSSH host certificate ({@code issuer sign}) from the {@code ssh_host} authority, for an
   * {@code authorized_keys}-format public key; principals are the host names.
   */
  public String signSshHost(String sshPublicKey, List<String> hostNames, Duration ttl) {
    ensureOpen();
    hostNames = targetNames(hostNames, "an SSH host certificate");
    checkSignTtl(ttl);
    SshAuthorities.Signed signed = ssh.signHostCertificate(sshPublicKey, hostNames.get(0), hostNames, clock.instant(), ttl);
    audit.success("certificate.signed", null, null, Map.of("kind", "ssh_host", "serial", Long.toUnsignedString(signed.serial()), "ttl", ttl.toString(),
        "subject", String.join(",", hostNames)));
    return signed.line();
  }

  /** Default of {@link Builder#signMaxTtl}: 90 days. */
  public static final Duration DEFAULT_SIGN_MAX_TTL = Duration.ofDays(90);

  /** Upper limit of {@link Builder#signMaxTtl}: 397 days, the CA/Browser Forum's limit for server certificates. */
  public static final Duration LIMIT_SIGN_MAX_TTL = Duration.ofDays(397);

  /** Longest lifetime of a certificate signed by {@code issuer sign}. */
  public Duration signMaxTtl() {
    return signMaxTtl;
  }

  private void checkSignTtl(Duration ttl) {
    java.util.Objects.requireNonNull(ttl, "ttl");
    if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(signMaxTtl) > 0) {
      throw new dev.machineid.issuer.internal.ProblemException(
          dev.machineid.core.ErrorCode.TTL_EXCEEDED,
          "ttl must be from 1s to " + signMaxTtl + " (the issuer's sign_max_ttl), got " + ttl,
          "issuer sign asked for " + ttl + ", above sign_max_ttl " + signMaxTtl);
    }
  }

  /** The host names of a target certificate, each checked ({@code CertificateAuthority#checkHostName}). */
  private static List<String> targetNames(List<String> hostNames, String what) {
    if (hostNames == null || hostNames.isEmpty()) {
      throw dev.machineid.issuer.internal.ProblemException.of(dev.machineid.core.ErrorCode.MALFORMED_REQUEST, what + " needs at least one host name");
    }
    if (hostNames.size() > 100) {
      throw dev.machineid.issuer.internal.ProblemException.of(dev.machineid.core.ErrorCode.MALFORMED_REQUEST, what + " names at most 100 hosts");
    }
    List<String> out = new ArrayList<>();
    for (String h : hostNames) {
      out.add(dev.machineid.issuer.internal.CertificateAuthority.checkHostName(h));
    }
    return List.copyOf(out);
  }

  /** Every audit event, oldest first. */
  public List<AuditEvent> auditEvents() {
    ensureOpen();
    return store.auditEvents();
  }

  /**
   * Checks the hash-chained audit log from its first row to its head: every row present, linked
   * to the previous one and matching its hash.
   *
   * @return {@link AuditVerification#intact()} or the first broken row
   */
  public AuditVerification verifyAudit() {
    ensureOpen();
    return store.verifyAudit();
  }

  /**
   * The newest events matching {@code query}, oldest first, filtered and limited in the store;
   * only events on the chain (none beyond its head).
   */
  public List<AuditEvent> auditEvents(AuditQuery query) {
    ensureOpen();
    return store.auditEvents(query);
  }

  /**
   * As {@link #verifyAudit()}, and also that row {@code pinnedSequence} still has
   * {@code pinnedHash}: the head of an earlier verification, kept elsewhere, so that a head rewound
   * with the rows after it removed is detected by any process.
   */
  public AuditVerification verifyAudit(long pinnedSequence, String pinnedHash) {
    ensureOpen();
    return store.verifyAudit(pinnedSequence, pinnedHash);
  }

  /**
   * Audit retention: removes the events older than {@code before} from the front of the chain once
   * it verifies, keeping the last removed row as the chain's anchor so that the rest still
   * verifies, and records the prune (every anchor after it) in an {@code audit.pruned} event that
   * verification checks the anchors against. The store's database role needs {@code DELETE} on
   * {@code audit_events}.
   *
   * @return how many events were removed
   */
  public int pruneAudit(Instant before) {
    ensureOpen();
    return store.pruneAudit(before);
  }

  // ------------------------------------------------------------------ roles

  /**
   * Stores a role resource.
   *
   * @throws IllegalStateException if a role of that name exists
   */
  public Role createRole(Role role) {
    ensureOpen();
    Role stored = Objects.requireNonNull(role, "role").createdAt(clock.instant());
    boolean inserted =
        store.inTransaction(
            tx -> {
              if (!tx.insertRole(stored)) {
                return false;
              }
              audit.success(tx, "role.created", null, null, Map.of("role", role.name()));
              return true;
            });
    if (!inserted) {
      throw new IllegalStateException("role '" + role.name() + "' already exists; delete it first or choose another name");
    }
    return stored;
  }

  public List<Role> roles() {
    ensureOpen();
    return store.roles();
  }

  public Optional<Role> role(String name) {
    ensureOpen();
    return store.findRole(Objects.requireNonNull(name, "name"));
  }

  /** @return false if there was no such role */
  public boolean deleteRole(String name) {
    ensureOpen();
    Objects.requireNonNull(name, "name");
    return store.inTransaction(
        tx -> {
          if (!tx.deleteRole(name)) {
            return false;
          }
          audit.success(tx, "role.deleted", null, null, Map.of("role", name));
          return true;
        });
  }

  /**
   * Replaces a stored role, keeping its creation time, with its audit event: the next issuance for
   * every bot holding it (renewal, {@code /v1/certificates}) follows the new definition; credentials
   * already issued keep what they were issued with until they expire.
   *
   * @return the stored role, or empty if there is no role of that name (nothing changes)
   */
  public Optional<Role> updateRole(Role role) {
    ensureOpen();
    Objects.requireNonNull(role, "role");
    return store.inTransaction(
        tx -> {
          Optional<Role> current = tx.findRole(role.name());
          if (current.isEmpty() || !tx.updateRole(role)) {
            return Optional.<Role>empty();
          }
          audit.success(tx, "role.updated", null, null, Map.of("role", role.name()));
          return Optional.of(role.createdAt(current.get().createdAt()));
        });
  }

  // ------------------------------------------------------------------ token resources

  /**
   * A token made by {@link #createToken(String, String, String, Instant, Map)}.
   *
   * @param name the secret for {@code token} (shown once), the plain name for delegated methods
   * @param token the stored token
   */
  public record CreatedToken(String name, Token token) {}

  /**
   * Creates a join token from a token resource (docs/architecture.md §9). For {@code token} the name is the
   * secret: a given one must have at least 16 characters, and none makes a random one. Delegated
   * methods need a name and, in {@code rules.allow}, at least one identifying rule per entry.
   *
   * @param name the resource's {@code metadata.name}, or {@code null} for a random secret
   * @param rules the {@code spec.<join method>} block; empty for {@code token}
   * @throws IllegalArgumentException for an unknown bot or join method, a past expiry, missing
   *     identifying rules or a short secret
   * @throws IllegalStateException if a token of that name exists
   */
  public CreatedToken createToken(String name, String botName, String joinMethod, Instant expiresAt, Map<String, Object> rules) {
    ensureOpen();
    Objects.requireNonNull(botName, "botName");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Instant now = clock.instant();
    if (!expiresAt.isAfter(now)) {
      throw new IllegalArgumentException("token expiry " + expiresAt + " is not in the future");
    }
    if (store.findBot(botName).isEmpty()) {
      throw new IllegalArgumentException("no bot named '" + botName + "'; create it first");
    }
    if (!TokenRules.known(joinMethod) && !engine.verifiers().containsKey(joinMethod)) {
      throw new IllegalArgumentException("unknown join method '" + joinMethod + "'; this issuer knows " + engine.verifiers().keySet());
    }
    TokenRules.validate(joinMethod, rules == null ? Map.of() : rules);
    boolean secret = joinMethod.equals("token");
    String value = name;
    if (secret && value == null) {
      byte[] b = new byte[16];
      random.nextBytes(b);
      value = HexFormat.of().formatHex(b);
    } else if (secret && value.length() < 16) {
      throw new IllegalArgumentException("a 'token' token's name is its secret and needs at least 16 characters; omit metadata.name for a random one");
    } else if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("a '" + joinMethod + "' token needs metadata.name");
    }
    Token t = new Token(Hashes.tokenId(value), botName, joinMethod, now, expiresAt, null, secret ? null : value, rules);
    boolean inserted =
        store.inTransaction(
            tx -> {
              if (!tx.insertToken(t)) {
                return false;
              }
              audit.success(tx, "token.created", botName, null, Map.of("token_id", t.shortId(), "join_method", joinMethod, "expires", expiresAt.toString()));
              return true;
            });
    if (!inserted) {
      throw new IllegalStateException("a token named '" + (secret ? t.shortId() : value) + "' already exists");
    }
    return new CreatedToken(value, t);
  }

  // ------------------------------------------------------------------ admin identities

  /** Records an admin allowed on {@code /v1/admin/...}; returns the existing record if there is one. */
  public AdminIdentity addAdmin(String name) {
    ensureOpen();
    AdminIdentity admin = new AdminIdentity(AdminIdentity.validateName(name), clock.instant());
    boolean inserted =
        store.inTransaction(
            tx -> {
              if (!tx.insertAdmin(admin)) {
                return false;
              }
              audit.success(tx, "admin.added", null, null, Map.of("admin", name));
              return true;
            });
    if (inserted) {
      return admin;
    }
    return store.findAdmin(name).orElse(admin);
  }

  public List<AdminIdentity> admins() {
    ensureOpen();
    return store.admins();
  }

  /**
   * Removes an admin, with its audit event: its certificates are refused by the admin API at once
   * (a renewal in flight is refused unless it committed first), and stay refused if the name is
   * added again later.
   *
   * @return false if no admin of that name is recorded
   */
  public boolean removeAdmin(String name) {
    ensureOpen();
    Objects.requireNonNull(name, "name");
    Instant now = clock.instant();
    boolean removed =
        store.inTransaction(
            tx -> {
              if (!tx.removeAdmin(name, now)) {
                return false;
              }
              audit.success(tx, "admin.removed", null, null, Map.of("admin", name));
              return true;
            });
    if (removed) {
      LOG.warn("admin '{}' removed; its certificates are refused from now on", name);
    }
    return removed;
  }

  /**
   * What {@link #syncAdmins} changed.
   *
   * @param added names recorded
   * @param removed names removed
   */
  public record AdminChanges(List<String> added, List<String> removed) {
    public AdminChanges {
      added = List.copyOf(added);
      removed = List.copyOf(removed);
    }
  }

  /**
   * Makes the recorded admins exactly {@code names} (the {@code admins:} of {@code issuer.yaml}):
   * records those missing and removes the others, each with its audit event. {@code issuer serve}
   * calls it at every start.
   *
   * @throws IllegalArgumentException for an invalid name or an empty list (no one could administer
   *     the issuer)
   */
  public AdminChanges syncAdmins(java.util.Collection<String> names) {
    ensureOpen();
    Objects.requireNonNull(names, "names");
    Set<String> wanted = new java.util.TreeSet<>();
    for (String n : names) {
      wanted.add(AdminIdentity.validateName(n));
    }
    if (wanted.isEmpty()) {
      throw new IllegalArgumentException("the admin list must name at least one admin; otherwise no one could administer the issuer");
    }
    List<String> added = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    for (AdminIdentity a : store.admins()) {
      if (!wanted.contains(a.name()) && removeAdmin(a.name())) {
        removed.add(a.name());
      }
    }
    Set<String> present = new HashSet<>();
    store.admins().forEach(a -> present.add(a.name()));
    for (String n : wanted) {
      if (!present.contains(n)) {
        addAdmin(n);
        added.add(n);
      }
    }
    return new AdminChanges(added, removed);
  }

  /**
   * Why the admin API refuses {@code certificate}, already verified as admin {@code name}'s, at this
   * moment; empty if it accepts it. The admin must be recorded and not removed, the certificate must
   * not predate the record's {@link AdminIdentity#notBefore()} (a removed admin's certificates stay
   * refused when the name is added again), and no active serial lock may name the certificate or the
   * one it was renewed from.
   */
  public Optional<String> adminRefusal(String name, X509Certificate certificate) {
    ensureOpen();
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(certificate, "certificate");
    return adminRefusal(store, name, certificate, clock.instant());
  }

  private static Optional<String> adminRefusal(IssuerStore s, String name, X509Certificate certificate, Instant now) {
    Optional<AdminIdentity> admin = s.findAdmin(name);
    if (admin.isEmpty()) {
      return Optional.of("admin '" + name + "' is not recorded in the store (never added, or removed)");
    }
    Instant notBefore = admin.get().notBefore();
    // strictly: the instant the issuer signed it (its mark), or notBefore for other tooling's certificates
    Instant issued = AdminCertificates.issuedAt(certificate);
    if (notBefore != null && issued.isBefore(notBefore)) {
      return Optional.of("the certificate was issued at " + issued + ", before admin '" + name + "' was recorded again at " + notBefore + " (it belonged to the removed admin)");
    }
    List<LockKey> keys = new ArrayList<>();
    keys.add(new LockKey(Lock.Target.SERIAL, dev.machineid.issuer.internal.CertificateAuthority.serialHex(certificate)));
    AdminCertificates.renewedFrom(certificate).ifPresent(from -> keys.add(new LockKey(Lock.Target.SERIAL, from)));
    List<Lock> locks = s.findActiveLocks(keys, now);
    if (!locks.isEmpty()) {
      Lock l = locks.get(0);
      return Optional.of("locked by lock " + l.id() + " on serial " + l.value() + ": " + l.reason());
    }
    return Optional.empty();
  }

  /**
   * Self-renewal of an admin certificate ({@code /v1/admin/renew}): a new certificate for
   * {@code key}, at most 24 h, marked as renewed from {@code presented}, so that a lock on the
   * presented certificate refuses the new one too. A certificate made this way cannot renew again
   * (a fresh one needs the authority key: {@code issuer admin reissue}), so self-renewal extends
   * an operator-issued certificate once; and the admin's record is re-checked in the transaction
   * that records the issuance, so a removal or lock committed first wins.
   *
   * @throws SecurityException if the admin or the presented certificate is refused
   */
  public X509Certificate renewAdminCertificate(String name, X509Certificate presented, PublicKey key, Duration ttl) {
    ensureOpen();
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(presented, "presented");
    Objects.requireNonNull(key, "key");
    if (AdminCertificates.isRenewed(presented)) {
      throw new SecurityException("an admin certificate made by self-renewal cannot renew again; issue a fresh one with the authority key ('issuer admin reissue')");
    }
    Instant now = clock.instant();
    String from = dev.machineid.issuer.internal.CertificateAuthority.serialHex(presented);
    X509Certificate cert = AdminCertificates.renew(keys.authority(), trustDomain, name, from, key, now, ttl, random);
    store.inTransaction(
        tx -> {
          tx.awaitRevocations();
          Optional<String> refusal = adminRefusal(tx, name, presented, now);
          if (refusal.isPresent()) {
            throw new SecurityException(refusal.get());
          }
          audit.success(tx, "admin.certificate", null, null, Map.of("admin", name, "serial", cert.getSerialNumber().toString(16), "ttl", ttl.toString(), "renewed_from", from));
          return null;
        });
    return cert;
  }

  /**
   * Signs an admin client certificate ({@code CN=admin-<name>}, {@code spiffe://<td>/admin/<name>})
   * for {@code key}, recording the admin first if needed. At most 24 h.
   */
  public X509Certificate issueAdminCertificate(String name, PublicKey key, Duration ttl) {
    ensureOpen();
    addAdmin(name);
    X509Certificate cert = AdminCertificates.issue(keys.authority(), trustDomain, name, key, clock.instant(), ttl, random);
    audit.success("admin.certificate", null, null, Map.of("admin", name, "serial", cert.getSerialNumber().toString(16), "ttl", ttl.toString()));
    return cert;
  }

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
        throw new IllegalArgumentException("maxTtl must not exceed 24h (bot credentials are short-lived), got " + ttl);
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
        throw new IllegalArgumentException("signMaxTtl must not exceed " + LIMIT_SIGN_MAX_TTL.toDays() + " days, got " + ttl);
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
      if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofMinutes(5)) > 0) {
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
      this.trustedProxies = TrustedProxies.of(Objects.requireNonNull(trustedProxies, "trustedProxies"));
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
        throw new IllegalArgumentException("rateLimit needs perSecond > 0 and burst >= 1, got " + perSecond + " and " + burst);
      }
      this.rateLimitPerSecond = perSecond;
      this.rateLimitBurst = burst;
      return this;
    }

    /** Adds a verifier; it wins over a discovered provider of the same name. May be called repeatedly. */
    public Builder verifier(JoinVerifier verifier) {
      Objects.requireNonNull(verifier, "verifier");
      if (verifiers.stream().anyMatch(v -> v.name().equals(verifier.name()))) {
        throw new IllegalStateException("a verifier for join method '" + verifier.name() + "' was already added");
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
        throw new IllegalStateException("verifier settings for join method '" + method + "' were already set");
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
        throw new IllegalArgumentException("defaultTtl " + defaultTtl + " exceeds maxTtl " + maxTtl);
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
