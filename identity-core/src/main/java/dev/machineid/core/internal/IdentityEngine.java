package dev.machineid.core.internal;

import dev.machineid.core.ConfigException;
import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityException;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.IssuerException;
import dev.machineid.core.JoinException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.RenewalException;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.join.JoinContext;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputStatus;
import dev.machineid.core.protocol.ChallengeRequest;
import dev.machineid.core.protocol.ChallengeResponse;
import dev.machineid.core.protocol.Credentials;
import dev.machineid.core.protocol.ErrorCode;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.HeartbeatRequest;
import dev.machineid.core.protocol.JoinRequest;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.RenewRequest;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.core.storage.Storage;
import dev.machineid.core.storage.StoredIdentity;
import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins, renews and publishes the bot identity. All attempts run on the scheduler, one at a time;
 * readers only ever read {@link #current()}, an atomic reference.
 */
public final class IdentityEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.machineid.core.MachineIdentity");
  private static final String VERSION = versionOf();

  /** Settings, validated by the public builder. */
  public record Settings(
      URI issuer,
      PinningTrustManager trust,
      JoinMethod joinMethod,
      Storage storage,
      Duration ttl,
      RenewalPolicy policy,
      KeyAlgorithm keyAlgorithm,
      Clock clock,
      ScheduledExecutorService executor,
      boolean ownsExecutor,
      Duration startTimeout,
      Duration requestTimeout,
      List<IdentityListener> listeners,
      List<Output> outputs,
      boolean oneShot,
      boolean sshCertificate) {

    /** Settings of a long-running identity. */
    public Settings(URI issuer, PinningTrustManager trust, JoinMethod joinMethod, Storage storage, Duration ttl,
        RenewalPolicy policy, KeyAlgorithm keyAlgorithm, Clock clock, ScheduledExecutorService executor,
        boolean ownsExecutor, Duration startTimeout, Duration requestTimeout, List<IdentityListener> listeners,
        List<Output> outputs) {
      this(issuer, trust, joinMethod, storage, ttl, policy, keyAlgorithm, clock, executor, ownsExecutor, startTimeout,
          requestTimeout, listeners, outputs, false, false);
    }
  }

  private final Settings s;
  private final AtomicReference<Identity> current = new AtomicReference<>();
  private final AtomicReference<KeySnapshot> keys = new AtomicReference<>();
  private final AtomicReference<AuthoritySnapshot> authority = new AtomicReference<>();
  private final List<CredentialEngine> credentials = new CopyOnWriteArrayList<>();
  /** Contexts made for other server trust; held weakly through the factory every client holds. */
  private final List<java.lang.ref.WeakReference<RotatingSslContext.RotatingSocketFactory>> derived = new CopyOnWriteArrayList<>();
  private final RotatingKeyManager keyManager;
  private final BundleTrustManager trustManager;
  private final RotatingSslContext sslContext;
  private final IssuerClient client;
  private final List<IdentityListener> listeners = new CopyOnWriteArrayList<>();
  private final ReentrantLock attemptLock = new ReentrantLock();
  private final Instant startedAt;
  /** Stable, unique output names (taken once: a destination's toString may change as it is written). */
  private final List<String> outputNames;
  private final List<AtomicReference<OutputStatus>> outputStatus;

  private volatile Health.State state = Health.State.STARTING;
  private volatile Throwable lastError;
  private volatile int consecutiveFailures;
  private volatile Instant nextRenewal;
  private volatile Duration clockOffset = Duration.ZERO;
  private volatile boolean closed;
  private volatile boolean locked;
  private ScheduledFuture<?> scheduled;
  private ScheduledFuture<?> expiryWatch;
  private CompletableFuture<Identity> first = new CompletableFuture<>();
  private KeyPair pendingKey;
  private Credentials currentCredentials;
  /** The identity read back from storage at start, if any: logged as restored rather than issued. */
  private volatile Identity restoredIdentity;
  private boolean storageChecked;
  /** Set when start() gave up: failures then stop rescheduling until start() is called again. */
  private volatile boolean abandoned;

  public IdentityEngine(Settings settings) {
    this.s = settings;
    this.listeners.addAll(settings.listeners());
    this.keyManager = new RotatingKeyManager(keys::get, settings.clock());
    this.trustManager = new BundleTrustManager(() -> {
      Identity id = current.get();
      return id == null ? null : id.trustBundle();
    });
    this.sslContext = RotatingSslContext.create(keyManager, trustManager);
    this.client = new IssuerClient(settings.issuer(), settings.trust(), keyManager, settings.requestTimeout());
    this.startedAt = settings.clock().instant();
    List<String> names = new ArrayList<>();
    List<AtomicReference<OutputStatus>> status = new ArrayList<>();
    for (Output o : settings.outputs()) {
      String base = o.name();
      String name = base;
      for (int n = 2; names.contains(name); n++) {
        name = base + "#" + n;
      }
      names.add(name);
      status.add(new AtomicReference<>(new OutputStatus(name, OutputStatus.State.PENDING, null, null)));
    }
    this.outputNames = List.copyOf(names);
    this.outputStatus = List.copyOf(status);
  }

  /** Each output's last write, in configuration order. */
  public List<OutputStatus> outputStatus() {
    List<OutputStatus> l = new ArrayList<>(outputStatus.size());
    for (AtomicReference<OutputStatus> r : outputStatus) {
      l.add(r.get());
    }
    return List.copyOf(l);
  }

  public Identity current() {
    return current.get();
  }

  public RotatingKeyManager keyManager() {
    return keyManager;
  }

  public BundleTrustManager trustManager() {
    return trustManager;
  }

  public RotatingSslContext sslContext() {
    return sslContext;
  }

  /**
   * A context with this identity's key manager and another trust manager (servers certified by
   * another CA), which starts a new session cache at every rotation like {@link #sslContext()}.
   */
  public RotatingSslContext sslContext(javax.net.ssl.X509TrustManager serverTrust) {
    RotatingSslContext c = RotatingSslContext.create(keyManager, serverTrust);
    derived.add(new java.lang.ref.WeakReference<>((RotatingSslContext.RotatingSocketFactory) c.getSocketFactory()));
    return c;
  }

  private void rotateDerived() {
    for (var ref : derived) {
      RotatingSslContext.RotatingSocketFactory f = ref.get();
      if (f == null) {
        derived.remove(ref);
      } else {
        f.rotate();
      }
    }
  }

  public void addListener(IdentityListener l) {
    listeners.add(Objects.requireNonNull(l, "listener"));
  }

  public void removeListener(IdentityListener l) {
    listeners.remove(l);
  }

  // ---------------------------------------------------------------- start

  public Identity start() {
    if (closed) {
      throw new IllegalStateException("MachineIdentity is closed");
    }
    Identity have = current.get();
    if (have != null) {
      return have;
    }
    if (!s.storage().durable() && s.joinMethod().singleUse()) {
      LOG.warn("join method '{}' uses a single-use proof and storage is in memory: after a restart this "
          + "service cannot join again with the same token. Use directory storage, or a delegated join method.",
          s.joinMethod().name());
    }
    CompletableFuture<Identity> f;
    synchronized (this) {
      if (first.isDone()) {
        first = new CompletableFuture<>();
      }
      f = first;
      abandoned = false;
      schedule(Duration.ZERO);
    }
    try {
      return f.get(s.startTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      abandoned = true;
      cancelScheduled();
      Throwable last = lastError;
      throw new RenewalException("no identity from " + s.issuer() + " within " + s.startTimeout()
          + (last != null ? "; last failure: " + last.getMessage() : "; no answer yet")
          + ". Check that the issuer is reachable from here", last);
    } catch (ExecutionException e) {
      abandoned = true;
      cancelScheduled();
      Throwable cause = e.getCause();
      if (cause instanceof IdentityException ie) {
        throw ie instanceof JoinException || ie instanceof ConfigException || ie instanceof RenewalException
            ? rethrowWithStack(ie)
            : new JoinException("joining " + s.issuer() + " with method '" + s.joinMethod().name()
                + "' failed: " + ie.getMessage(), ie);
      }
      throw new JoinException("joining " + s.issuer() + " failed: " + cause, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IdentityException("interrupted while waiting for the first identity", e);
    }
  }

  private static IdentityException rethrowWithStack(IdentityException e) {
    return e;
  }

  /** Forces an attempt now; completes with the identity it produced. */
  public CompletableFuture<Identity> renewNow() {
    if (closed) {
      throw new IllegalStateException("MachineIdentity is closed");
    }
    CompletableFuture<Identity> done = new CompletableFuture<>();
    s.executor().execute(() -> {
      try {
        done.complete(attempt());
      } catch (Throwable t) {
        done.completeExceptionally(t);
      }
    });
    return done;
  }

  // ---------------------------------------------------------------- scheduling

  private synchronized void schedule(Duration delay) {
    if (closed || (abandoned && current.get() == null)) {
      return;
    }
    if (scheduled != null) {
      scheduled.cancel(false);
    }
    Duration d = delay.isNegative() ? Duration.ZERO : delay;
    nextRenewal = s.clock().instant().plus(d);
    scheduled = s.executor().schedule(this::scheduledAttempt, d.toMillis(), TimeUnit.MILLISECONDS);
  }

  private synchronized void cancelScheduled() {
    if (scheduled != null) {
      scheduled.cancel(false);
      scheduled = null;
    }
    nextRenewal = null;
  }

  private void scheduledAttempt() {
    try {
      attempt();
    } catch (Throwable t) {
      // attempt() has recorded the failure and scheduled the retry
    }
  }

  // ---------------------------------------------------------------- one attempt

  private Identity attempt() {
    attemptLock.lock();
    try {
      if (closed) {
        throw new IllegalStateException("MachineIdentity is closed");
      }
      Identity before = current.get();
      Identity next;
      try {
        next = acquire(before);
      } catch (Throwable t) {
        onFailure(t);
        throw t;
      }
      if (closed) {
        throw new IllegalStateException("MachineIdentity was closed during the attempt");
      }
      onSuccess(before, next);
      return next;
    } finally {
      attemptLock.unlock();
    }
  }

  private Identity acquire(Identity before) {
    Instant now = s.clock().instant();
    boolean firstContact = before == null || before.isExpiredAt(now);
    // first contact reads the trust bundle over the pinned connection; renewals take the bundle
    // from the answer, keeping only members that the already verified authorities vouch for
    List<X509Certificate> authorities = null;
    if (firstContact) {
      IssuerClient.AuthorityView view = client.authority();
      authorities = view.x509Authorities();
      authority.set(AuthoritySnapshot.of(view.authority(), authorities));
    }
    if (before == null && !storageChecked) {
      storageChecked = true;
      var stored = s.storage().load();
      if (stored.isPresent()) {
        Identity restored = toIdentity(stored.get().credentials(), stored.get().privateKey(), authorities);
        if (!restored.isExpiredAt(now)) {
          currentCredentials = stored.get().credentials();
          restoredIdentity = restored;
          // a renewal that was in flight when the process stopped is retried with the same key
          pendingKey = stored.get().pending().orElse(null);
          if (s.sshCertificate() && restored.sshCertificate().isEmpty()) {
            // stored before an SSH certificate was asked for: renew now rather than at the usual time
            schedule(Duration.ZERO);
          } else {
            scheduleRestored(restored, now);
          }
          return restored;
        }
        LOG.info("stored identity from {} expired at {}; joining again", s.storage(), restored.notAfter());
      }
    }
    if (pendingKey == null) {
      pendingKey = s.keyAlgorithm().generate();
    }
    KeyPair kp = pendingKey;
    String publicKey = Pem.encode(kp.getPublic());
    // the bot's own SSH certificate certifies the same key as its X.509 identity
    String sshPublicKey = s.sshCertificate() ? SshPublicKeys.authorizedKey(kp.getPublic()) : null;
    String ttl = GoDuration.format(s.ttl());
    Credentials creds;
    if (!firstContact && s.joinMethod().renewable()) {
      if (currentCredentials != null) {
        s.storage().save(new StoredIdentity(currentCredentials, before.privateKey(), kp));
      }
      creds = client.renew(new RenewRequest(before.generation(), publicKey, sshPublicKey, ttl));
    } else {
      // first join, re-join after expiry, or a delegated method re-attesting over mTLS
      ChallengeResponse ch = client.challenge(new ChallengeRequest(s.joinMethod().name(), s.joinMethod().token(), publicKey));
      String signature = sign(kp.getPrivate(), ch.challenge());
      var proof = s.joinMethod().attest(new JoinContext(ch.challenge(), s.issuer(), s.clock()));
      creds = client.join(new JoinRequest(s.joinMethod().name(), s.joinMethod().token(), ch.challenge(), signature,
          proof, publicKey, sshPublicKey, ttl));
    }
    if (authorities == null) {
      authorities = renewedAuthorities(creds, before);
      if (creds.authority() != null) {
        authority.set(AuthoritySnapshot.of(creds.authority(), authorities));
      }
    }
    Identity next = toIdentity(creds, kp.getPrivate(), authorities);
    if (!next.certificate().getPublicKey().equals(kp.getPublic())) {
      throw new IdentityException("the issuer returned a certificate for another public key; refusing it");
    }
    if (creds.serverTime() != null) {
      clockOffset = Duration.between(s.clock().instant(), creds.serverTime());
    }
    s.storage().save(new StoredIdentity(creds, kp.getPrivate()));
    currentCredentials = creds;
    pendingKey = null;
    scheduleFrom(creds, next);
    return next;
  }

  private void scheduleRestored(Identity restored, Instant now) {
    Instant issued = restored.notBefore().plusSeconds(60);
    Duration life = Duration.between(issued, restored.notAfter());
    Duration base = s.policy().baseDelay(life.isNegative() ? Duration.ZERO : life);
    double cut = s.policy().jitter() * ThreadLocalRandom.current().nextDouble();
    Duration due = Duration.ofMillis((long) (base.toMillis() * (1 - cut))).minus(Duration.between(issued, now));
    schedule(due.isNegative() ? Duration.ZERO : due);
  }

  private List<X509Certificate> renewedAuthorities(Credentials creds, Identity before) {
    if (creds.authority() == null || creds.authority().x509Authorities() == null) {
      return before.trustBundle();
    }
    List<X509Certificate> offered = new ArrayList<>();
    for (String pem : creds.authority().x509Authorities()) {
      offered.add(Pem.certificate(pem));
    }
    List<X509Certificate> accepted = s.trust().acceptAuthorities(offered, List.of());
    return accepted.isEmpty() ? before.trustBundle() : accepted;
  }

  private void scheduleFrom(Credentials creds, Identity next) {
    Instant serverNow = creds.serverTime() != null ? creds.serverTime() : s.clock().instant();
    Duration ttl = Duration.between(serverNow, next.notAfter());
    Duration base = s.policy().baseDelay(ttl.isNegative() ? Duration.ZERO : ttl);
    double cut = s.policy().jitter() * ThreadLocalRandom.current().nextDouble();
    Duration delay = Duration.ofMillis((long) (base.toMillis() * (1 - cut)));
    if (creds.renewAfter() != null) {
      Duration cap = Duration.between(serverNow, creds.renewAfter());
      if (cap.compareTo(delay) < 0) {
        delay = cap;
      }
    }
    schedule(delay);
  }

  private static String sign(PrivateKey key, String challenge) {
    try {
      Signature sig = Signature.getInstance(KeyAlgorithm.of(key).signatureAlgorithm());
      sig.initSign(key);
      sig.update(challenge.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(sig.sign());
    } catch (GeneralSecurityException e) {
      throw new IdentityException("cannot sign the challenge: " + e.getMessage(), e);
    }
  }

  private Identity toIdentity(Credentials c, PrivateKey key, List<X509Certificate> authorities) {
    if (c.certificateChain() == null || c.certificateChain().isEmpty()) {
      throw new IdentityException("the issuer's answer holds no certificate chain");
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (String pem : c.certificateChain()) {
      chain.add(Pem.certificate(pem));
    }
    SpiffeId spiffe = spiffeIdOf(chain.get(0));
    return new Identity(c.bot(), spiffe, c.instanceId(), c.generation(), chain, key, c.sshCertificate(), authorities);
  }

  private static SpiffeId spiffeIdOf(X509Certificate leaf) {
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (Integer.valueOf(6).equals(san.get(0)) && String.valueOf(san.get(1)).startsWith("spiffe://")) {
            return SpiffeId.parse(String.valueOf(san.get(1)));
          }
        }
      }
    } catch (CertificateParsingException e) {
      throw new IdentityException("cannot read the certificate's SANs: " + e.getMessage(), e);
    }
    throw new IdentityException("the issued certificate carries no SPIFFE ID");
  }

  // ---------------------------------------------------------------- outcomes

  private void onSuccess(Identity before, Identity next) {
    current.set(next);
    keyManager.retire(keys.getAndSet(KeySnapshot.of(next.certificateChain(), next.privateKey())));
    sslContext.rotate();
    rotateDerived();
    consecutiveFailures = 0;
    lastError = null;
    locked = false;
    state = Health.State.HEALTHY;
    watchExpiry(next);
    if (before == null || before.isExpiredAt(s.clock().instant()) || !before.instanceId().equals(next.instanceId())) {
      if (next == restoredIdentity) {
        // started from stored identity: nothing was issued, so the log must not say so
        LOG.info("identity restored from {}: bot '{}', {}, instance {}, generation {}, serial {}, valid until {}", s.storage(),
            next.botName(), next.spiffeId(), next.instanceId(), next.generation(), next.serialHex(), next.notAfter());
      } else {
        LOG.info("identity issued: bot '{}', {}, instance {}, serial {}, valid until {}", next.botName(), next.spiffeId(),
            next.instanceId(), next.serialHex(), next.notAfter());
      }
      for (IdentityListener l : listeners) {
        safely(() -> l.onIssued(next));
      }
    } else if (before != next) {
      LOG.info("identity renewed: bot '{}', generation {}, serial {}, valid until {}", next.botName(),
          next.generation(), next.serialHex(), next.notAfter());
      for (IdentityListener l : listeners) {
        safely(() -> l.onRenewed(before, next));
      }
    }
    for (int i = 0; i < s.outputs().size(); i++) {
      Output o = s.outputs().get(i);
      String name = outputNames.get(i);
      AtomicReference<OutputStatus> status = outputStatus.get(i);
      try {
        o.write(next);
        status.set(new OutputStatus(name, OutputStatus.State.OK, null, s.clock().instant()));
        LOG.info("output {} written (serial {})", name, next.serialHex());
      } catch (RuntimeException e) {
        OutputStatus was = status.get();
        status.set(new OutputStatus(name, OutputStatus.State.ERROR, String.valueOf(e.getMessage()), was.writtenAt()));
        LOG.warn("output {} failed to write: {}", name, e.getMessage());
      }
    }
    if (s.oneShot()) {
      // the process ends right after start(): report before returning, not in the background
      heartbeat(next);
    } else {
      try {
        s.executor().execute(() -> heartbeat(next));
      } catch (java.util.concurrent.RejectedExecutionException e) {
        // closing: no heartbeat
      }
    }
    first.complete(next);
  }

  private void onFailure(Throwable t) {
    lastError = t;
    int n = ++consecutiveFailures;
    Identity cur = current.get();
    boolean valid = cur != null && !cur.isExpiredAt(s.clock().instant());
    state = cur == null ? Health.State.STARTING : valid ? Health.State.DEGRADED : Health.State.EXPIRED;
    boolean permanent = t instanceof IssuerException ie && ie.isPermanent();
    if (t instanceof IssuerException ie && ie.errorCode() == ErrorCode.BOT_LOCKED) {
      if (!locked) {
        locked = true;
        LOG.error("the issuer locked this bot or instance: {}. An operator must remove the lock; the bot then needs a new join token.", ie.getMessage());
        for (IdentityListener l : listeners) {
          safely(() -> l.onLocked(ie));
        }
      }
    }
    LOG.warn("{} failed (attempt {}): {}", cur == null ? "join" : "renewal", n, t.getMessage());
    for (IdentityListener l : listeners) {
      safely(() -> l.onRenewalFailed(t, n));
    }
    if (cur == null && permanent) {
      // cannot succeed by retrying: fail start() now rather than at its timeout
      first.completeExceptionally(new JoinException("joining " + s.issuer() + " with method '" + s.joinMethod().name()
          + "' was refused: " + t.getMessage(), t));
      cancelScheduled();
      return;
    }
    // a permanent refusal is not retried blindly: wait the longest backoff before asking again
    Duration delay = permanent
        ? s.policy().retryMaxDelay()
        : s.policy().retryDelay(n, ThreadLocalRandom.current().nextDouble());
    schedule(delay);
  }

  private void watchExpiry(Identity id) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (expiryWatch != null) {
        expiryWatch.cancel(false);
      }
      long ms = Math.max(0, Duration.between(s.clock().instant(), id.notAfter()).toMillis());
      expiryWatch = s.executor().schedule(() -> {
        if (current.get() == id && !closed) {
          state = Health.State.EXPIRED;
          LOG.error("identity of bot '{}' expired at {}; TLS serves no certificate until a renewal succeeds",
              id.botName(), id.notAfter());
          for (IdentityListener l : listeners) {
            safely(() -> l.onExpired(id));
          }
        }
      }, ms, TimeUnit.MILLISECONDS);
    }
  }

  private void heartbeat(Identity id) {
    if (closed || current.get() != id) {
      return;
    }
    try {
      String host;
      try {
        host = InetAddress.getLocalHost().getHostName();
      } catch (Exception e) {
        host = "unknown";
      }
      long uptime = Duration.between(startedAt, s.clock().instant()).toSeconds();
      client.heartbeat(new HeartbeatRequest(host, VERSION, Math.max(0, uptime), s.oneShot(), outputsHealth()));
    } catch (RuntimeException e) {
      LOG.debug("heartbeat failed: {}", e.getMessage());
    }
  }

  private Map<String, String> outputsHealth() {
    Map<String, String> m = new java.util.TreeMap<>();
    for (OutputStatus st : outputStatus()) {
      m.put(st.name(), switch (st.state()) {
        case OK -> "ok";
        case PENDING -> "pending";
        case ERROR -> "error: " + st.error();
      });
    }
    return m;
  }

  private static void safely(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      LOG.warn("an identity listener threw: {}", e.toString());
    }
  }

  // ---------------------------------------------------------------- role-scoped credentials

  /** Fetches a role-scoped credential now (blocking) and keeps it fresh until closed. */
  public CredentialEngine credentials(dev.machineid.core.CredentialRequest request) {
    if (closed) {
      throw new IllegalStateException("MachineIdentity is closed");
    }
    Identity id = current.get();
    if (id == null) {
      throw new IllegalStateException("no identity yet: call start() before asking for credentials");
    }
    CredentialEngine engine = new CredentialEngine(request, client, s.keyAlgorithm(), s.policy(), s.clock(), s.executor(),
        authority::get);
    engine.start();
    credentials.add(engine);
    return engine;
  }

  // ---------------------------------------------------------------- health and close

  /** The newest authority document, or {@code null} before one arrived. */
  public dev.machineid.core.protocol.Authority authorityDocument() {
    AuthoritySnapshot a = authority.get();
    return a == null ? null : a.document();
  }

  public Health health() {
    Identity cur = current.get();
    Health.State st = state;
    if (st != Health.State.CLOSED && cur != null && cur.isExpiredAt(s.clock().instant())) {
      st = Health.State.EXPIRED;
    }
    Throwable e = lastError;
    return new Health(st, e == null ? null : e.getMessage(), consecutiveFailures, nextRenewal,
        cur == null ? null : cur.notAfter(), clockOffset);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    state = Health.State.CLOSED;
    synchronized (this) {
      if (scheduled != null) {
        scheduled.cancel(false);
      }
      if (expiryWatch != null) {
        expiryWatch.cancel(false);
      }
    }
    for (CredentialEngine c : credentials) {
      c.close();
    }
    first.completeExceptionally(new IllegalStateException("closed"));
    if (s.ownsExecutor()) {
      s.executor().shutdownNow();
    }
    client.close();
  }

  public boolean isClosed() {
    return closed;
  }

  private static String versionOf() {
    String v = IdentityEngine.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }
}
