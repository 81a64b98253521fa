package dev.machineid.core.internal.renewal;

import dev.machineid.core.AnswerRefusedException;
import dev.machineid.core.ConfigException;
import dev.machineid.core.ErrorCode;
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
import dev.machineid.core.internal.client.IssuerClient;
import dev.machineid.core.internal.client.PinningTrustManager;
import dev.machineid.core.internal.tls.BundleTrustManager;
import dev.machineid.core.internal.tls.RotatingKeyManager;
import dev.machineid.core.internal.tls.RotatingSslContext;
import dev.machineid.core.join.JoinContext;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputStatus;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.ChallengeRequest;
import dev.machineid.core.protocol.ChallengeResponse;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.HeartbeatRequest;
import dev.machineid.core.protocol.IdentityResponse;
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
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The bot identity: the protocol steps (join, renew, restore) that a {@link Refresher} runs on its
 * schedule, the judgement of each failure, and the lifecycle ({@link #start()}, {@link #close()});
 * an {@link IdentityPublisher} hands each new identity out (TLS swap, rotation hooks, outputs,
 * listeners). Readers only ever read {@link #current()}, an atomic reference.
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
      boolean sshCertificate,
      RandomGenerator random) {

    /** Settings of a long-running identity. */
    public Settings(
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
        List<Output> outputs) {
      this(
          issuer,
          trust,
          joinMethod,
          storage,
          ttl,
          policy,
          keyAlgorithm,
          clock,
          executor,
          ownsExecutor,
          startTimeout,
          requestTimeout,
          listeners,
          outputs,
          false,
          false,
          new java.util.Random());
    }
  }

  private final Settings s;
  private final AtomicReference<AuthoritySnapshot> authority = new AtomicReference<>();
  private final List<CredentialEngine> credentials = new CopyOnWriteArrayList<>();
  private final IdentityPublisher publisher;
  private final IssuerClient client;
  private final DoubleSupplier random;
  private final Refresher<Identity> refresher;
  private final Instant startedAt;

  private volatile Duration clockOffset = Duration.ZERO;
  private volatile boolean closed;
  private volatile boolean locked;
  private CompletableFuture<Identity> first = new CompletableFuture<>();
  private IdentityResponse currentCredentials;
  /** The identity read back from storage at start, if any: logged as restored rather than issued. */
  private volatile Identity restoredIdentity;

  private boolean storageChecked;
  /** True once this engine's single-use join proof (a token) was spent: it is never presented again. */
  private boolean tokenSpent;
  /** The identity was restored from storage and the issuer has not been reached since: a probe runs. */
  private volatile boolean unconfirmed;

  private ScheduledFuture<?> probe;
  private int probeFailures;

  public IdentityEngine(Settings settings) {
    this.s = settings;
    this.publisher = new IdentityPublisher(
        this::current, settings.clock(), settings.listeners(), settings.outputs());
    this.client = new IssuerClient(
        settings.issuer(), settings.trust(), publisher.keyManager(), settings.requestTimeout());
    this.startedAt = settings.clock().instant();
    this.random = Refresher.sharedRandom(settings.random());
    this.refresher = new Refresher<>(
        "MachineIdentity",
        this::acquire,
        new Publication(),
        settings.policy(),
        settings.clock(),
        settings.executor(),
        random);
  }

  /** Each output's last write, in configuration order. */
  public List<OutputStatus> outputStatus() {
    return publisher.outputStatus();
  }

  public Identity current() {
    return refresher.current();
  }

  public RotatingKeyManager keyManager() {
    return publisher.keyManager();
  }

  public BundleTrustManager trustManager() {
    return publisher.trustManager();
  }

  public RotatingSslContext sslContext() {
    return publisher.sslContext();
  }

  /**
   * A context with this identity's key manager and another trust manager (servers certified by
   * another CA), which starts a new session cache at every rotation like {@link #sslContext()}.
   */
  public RotatingSslContext sslContext(javax.net.ssl.X509TrustManager serverTrust) {
    return publisher.sslContext(serverTrust);
  }

  public void addListener(IdentityListener l) {
    publisher.addListener(l);
  }

  public void removeListener(IdentityListener l) {
    publisher.removeListener(l);
  }

  public void addRotationHook(Consumer<Identity> hook) {
    publisher.addRotationHook(hook);
  }

  public void removeRotationHook(Consumer<Identity> hook) {
    publisher.removeRotationHook(hook);
  }

  // ---------------------------------------------------------------- start

  public Identity start() {
    if (closed) {
      throw new IllegalStateException("MachineIdentity is closed");
    }
    Identity have = current();
    if (have != null) {
      return have;
    }
    // refuse unsafe storage or destinations now, not after a join has spent a single-use token
    s.storage().check();
    for (Output o : s.outputs()) {
      o.check();
    }
    if (!s.storage().durable() && s.joinMethod().singleUse()) {
      LOG.warn(
          "join method '{}' uses a single-use proof and storage is in memory: after a restart this "
              + "service cannot join again with the same token. Use directory storage, or a delegated join method.",
          s.joinMethod().name());
    }
    CompletableFuture<Identity> f;
    synchronized (this) {
      if (first.isDone()) {
        first = new CompletableFuture<>();
      }
      f = first;
      refresher.kick();
    }
    try {
      return f.get(s.startTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      refresher.abandon();
      Throwable last = refresher.lastError();
      throw new RenewalException(
          "no identity from " + s.issuer() + " within " + s.startTimeout()
              + (last != null ? "; last failure: " + last.getMessage() : "; no answer yet")
              + ". Check that the issuer is reachable from here",
          last);
    } catch (ExecutionException e) {
      refresher.abandon();
      Throwable cause = e.getCause();
      if (cause instanceof VirtualMachineError vme) {
        // the process is in trouble (out of memory): no join failed, so none is reported
        throw vme;
      }
      if (cause instanceof IdentityException ie) {
        throw ie instanceof JoinException
                || ie instanceof ConfigException
                || ie instanceof RenewalException
            ? rethrowWithStack(ie)
            : new JoinException(
                "joining " + s.issuer() + " with method '" + s.joinMethod().name() + "' failed: "
                    + ie.getMessage(),
                ie);
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
    return refresher.refreshNow();
  }

  // ---------------------------------------------------------------- the protocol step

  /** Restores, joins or renews: the next identity, checked, and when to renew it. Publishes nothing. */
  private Refresher.Fresh<Identity> acquire(Identity before) {
    Instant now = s.clock().instant();
    if (before == null && !storageChecked) {
      storageChecked = true;
      Refresher.Fresh<Identity> restored = restore(now);
      if (restored != null) {
        return restored;
      }
    }
    boolean expired = before != null && before.isExpiredAt(now);
    boolean firstContact = before == null || expired;
    if (firstContact && s.joinMethod().singleUse() && tokenSpent) {
      throw new NewTokenNeededException(newTokenMessage(before));
    }
    // first contact reads the trust bundle over the pinned connection; nothing is installed until
    // the answer that it vouches for is accepted
    IssuerClient.AuthorityView view = null;
    List<X509Certificate> trusted;
    String trustDomain;
    if (firstContact) {
      view = client.authority();
      trusted = view.x509Authorities();
      trustDomain = before != null ? before.trustDomain() : view.authority().trustDomain();
    } else {
      trusted = union(before.trustBundle(), s.trust().verifiedAuthorities());
      trustDomain = before.trustDomain();
    }
    KeyPair kp = refresher.pendingKey().get(s.keyAlgorithm()::generate);
    String publicKey = Pem.encode(kp.getPublic());
    // the bot's own SSH certificate certifies the same key as its X.509 identity
    String sshPublicKey = s.sshCertificate() ? SshPublicKeys.authorizedKey(kp.getPublic()) : null;
    String ttl = GoDuration.format(s.ttl());
    IdentityResponse creds;
    AnswerVerifier.IdentityExpectation expected;
    boolean joined;
    if (!firstContact && s.joinMethod().renewable()) {
      if (currentCredentials != null) {
        s.storage()
            .save(new StoredIdentity(
                StoredIdentities.issued(currentCredentials), before.privateKey(), kp));
      }
      creds = client.renew(new RenewRequest(before.generation(), publicKey, sshPublicKey, ttl));
      expected = new AnswerVerifier.IdentityExpectation(
          before.botName(),
          trustDomain,
          before.instanceId(),
          before.generation() + 1,
          false,
          s.ttl());
      joined = false;
    } else {
      // first join, re-join after expiry, or a delegated method re-attesting over mTLS
      try {
        ChallengeResponse ch = client.challenge(
            new ChallengeRequest(s.joinMethod().name(), s.joinMethod().token(), publicKey));
        String signature = sign(kp.getPrivate(), ch.challenge());
        var proof = IssuerClient.proof(
            s.joinMethod(),
            s.joinMethod().attest(new JoinContext(ch.challenge(), s.issuer(), s.clock())));
        creds = client.join(new JoinRequest(
            s.joinMethod().name(),
            s.joinMethod().token(),
            ch.challenge(),
            signature,
            proof,
            publicKey,
            sshPublicKey,
            ttl));
      } catch (IssuerException e) {
        if (s.joinMethod().singleUse()
            && (e.errorCode() == ErrorCode.TOKEN_CONSUMED
                || e.errorCode() == ErrorCode.TOKEN_EXPIRED)) {
          tokenSpent = true;
          if (before != null) {
            throw new NewTokenNeededException(
                newTokenMessage(before) + " (the issuer answered " + e.getMessage() + ")", e);
          }
        }
        throw e;
      }
      expected = before == null
          ? new AnswerVerifier.IdentityExpectation(null, trustDomain, null, 1, false, s.ttl())
          : expired
              ? new AnswerVerifier.IdentityExpectation(
                  before.botName(), trustDomain, null, 1, false, s.ttl())
              : new AnswerVerifier.IdentityExpectation(
                  before.botName(),
                  trustDomain,
                  before.instanceId(),
                  before.generation() + 1,
                  true,
                  s.ttl());
      joined = true;
    }
    if (joined && s.joinMethod().singleUse()) {
      // the issuer consumed the token whether or not its answer is kept
      tokenSpent = true;
    }
    // ---- nothing above changed what this client holds; check the answer before keeping any of it
    List<X509Certificate> chain = parseChain(creds);
    SpiffeId spiffe = AnswerVerifier.verifyIdentity(
        creds.bot(),
        creds.instanceId(),
        creds.generation(),
        chain,
        kp.getPublic(),
        trusted,
        expected,
        s.clock().instant(),
        clockOffset);
    Authority document = firstContact
        ? view.authority()
        : creds.authority() != null ? creds.authority() : authorityDocument();
    List<X509Certificate> bundle =
        firstContact ? view.x509Authorities() : renewedAuthorities(creds, before);
    Identity next = new Identity(
        creds.bot(),
        spiffe,
        creds.instanceId(),
        creds.generation(),
        chain,
        kp.getPrivate(),
        creds.sshCertificate(),
        bundle);
    // the stored copy carries the accepted bundle, so a restart serves without the issuer
    IdentityResponse kept = withAuthority(creds, document, bundle);
    s.storage().save(new StoredIdentity(StoredIdentities.issued(kept), kp.getPrivate()));
    s.trust().trust(bundle);
    authority.set(AuthoritySnapshot.of(document, bundle));
    if (creds.serverTime() != null) {
      clockOffset = Duration.between(s.clock().instant(), creds.serverTime());
    }
    currentCredentials = kept;
    refresher.pendingKey().accepted();
    confirmed();
    return new Refresher.Fresh<>(next, renewalDelay(creds, next));
  }

  /** The stored identity, if it is still valid: it serves at once, without the issuer (static stability). */
  private Refresher.Fresh<Identity> restore(Instant now) {
    var stored = s.storage().load();
    if (stored.isEmpty()) {
      return null;
    }
    IdentityResponse c = StoredIdentities.credentials(stored.get().issued());
    List<X509Certificate> chain = parseChain(c);
    List<X509Certificate> storedAuthorities = storedBundle(c);
    List<X509Certificate> bundle;
    Authority document = c.authority();
    if (storedAuthorities.isEmpty()) {
      // stored by a version that kept no bundle: read it over the pinned connection
      IssuerClient.AuthorityView view;
      try {
        view = client.authority();
      } catch (RuntimeException e) {
        // the issuer is needed for this file: try storage again at the next attempt
        storageChecked = false;
        throw e;
      }
      bundle = view.x509Authorities();
      storedAuthorities = bundle;
      document = view.authority();
    } else {
      // the file vouches for nothing: its bundle is checked against the CA pins as a fresh
      // /v1/authority answer is
      bundle = s.trust().acceptAuthorities(storedAuthorities, List.of());
    }
    Instant notAfter = chain.get(0).getNotAfter().toInstant();
    if (!notAfter.isAfter(now)) {
      LOG.info("stored identity from {} expired at {}; joining again", s.storage(), notAfter);
      return null;
    }
    SpiffeId spiffe;
    try {
      spiffe = AnswerVerifier.verifyStored(
          new AnswerVerifier.StoredClaims(
              c.bot(),
              c.instanceId(),
              c.generation(),
              c.authority() == null ? null : c.authority().trustDomain()),
          chain,
          null,
          storedAuthorities,
          bundle,
          now);
      AnswerVerifier.verifyJwks(document == null ? null : document.jwks());
    } catch (AnswerRefusedException e) {
      LOG.warn(
          "stored identity from {} refused, nothing of it is used ({}); joining again",
          s.storage(),
          e.getMessage());
      return null;
    }
    Identity restored = new Identity(
        c.bot(),
        spiffe,
        c.instanceId(),
        c.generation(),
        chain,
        stored.get().privateKey(),
        c.sshCertificate(),
        bundle);
    s.trust().trust(bundle);
    restoredIdentity = restored;
    authority.set(AuthoritySnapshot.of(document, bundle));
    currentCredentials = c;
    // a renewal that was in flight when the process stopped is retried with the same key
    refresher.pendingKey().resume(stored.get().pending().orElse(null));
    if (s.sshCertificate() && restored.sshCertificate().isEmpty()) {
      // stored before an SSH certificate was asked for: renew now rather than at the usual time
      return new Refresher.Fresh<>(restored, Duration.ZERO);
    }
    // the issuer has not been reached: a probe finds out at once (scheduled after the renewal, when
    // the restored identity is published), so health says DEGRADED while it is down
    unconfirmed = true;
    return new Refresher.Fresh<>(restored, restoredDelay(restored, now));
  }

  /** The x509 authorities of a stored answer that are CA certificates. */
  private static List<X509Certificate> storedBundle(IdentityResponse c) {
    List<X509Certificate> out = new ArrayList<>();
    if (c.authority() != null && c.authority().x509Authorities() != null) {
      for (String pem : c.authority().x509Authorities()) {
        X509Certificate cert = Pem.certificate(pem);
        if (PinningTrustManager.isCaCertificate(cert)) {
          out.add(cert);
        }
      }
    }
    return List.copyOf(out);
  }

  private static IdentityResponse withAuthority(
      IdentityResponse c, Authority document, List<X509Certificate> bundle) {
    List<String> pems = new ArrayList<>();
    for (X509Certificate cert : bundle) {
      pems.add(Pem.encode(cert));
    }
    Authority a = document == null
        ? new Authority(null, pems, null, null, null, null, null, null, null)
        : new Authority(
            document.trustDomain(),
            pems,
            document.spiffeAuthorities(),
            document.databaseClientAuthorities(),
            document.databaseServerAuthorities(),
            document.kubernetesClientAuthorities(),
            document.sshUserAuthorities(),
            document.sshHostAuthorities(),
            document.jwks());
    return new IdentityResponse(
        c.bot(),
        c.instanceId(),
        c.generation(),
        c.certificateChain(),
        c.sshCertificate(),
        c.notAfter(),
        c.renewAfter(),
        c.serverTime(),
        a);
  }

  private static List<X509Certificate> union(List<X509Certificate> a, List<X509Certificate> b) {
    List<X509Certificate> out = new ArrayList<>(a);
    for (X509Certificate c : b) {
      if (!out.contains(c)) {
        out.add(c);
      }
    }
    return out;
  }

  private String newTokenMessage(Identity before) {
    String what = before == null
        ? "no identity is held"
        : "the identity of bot '" + before.botName() + "' expired at " + before.notAfter();
    return what
        + ", and its join token is single-use and already spent: a new join token is needed. Make one for bot '"
        + (before == null ? "?" : before.botName())
        + "' on the issuer, put it in onboarding.token (or token(…)), "
        + "and restart or reload. The spent token is not presented again";
  }

  /** A single-use proof that was spent: only a new token from an operator helps; not retried. */
  static final class NewTokenNeededException extends JoinException {
    private static final long serialVersionUID = 1L;

    NewTokenNeededException(String message) {
      super(message);
    }

    NewTokenNeededException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  // ---------------------------------------------------------------- the probe after a restore

  private synchronized void scheduleProbe(Duration delay) {
    if (closed) {
      return;
    }
    if (probe != null) {
      probe.cancel(false);
    }
    probe =
        s.executor().schedule(this::runProbe, Math.max(0, delay.toMillis()), TimeUnit.MILLISECONDS);
  }

  /** Reads the authority over the pinned connection: the cheapest proof that the issuer is reachable. */
  private void runProbe() {
    refresher.runExclusive(this::probeOnce);
  }

  private void probeOnce() {
    if (closed || !unconfirmed) {
      return;
    }
    try {
      IssuerClient.AuthorityView view = client.authority();
      s.trust().trust(view.x509Authorities());
      authority.set(AuthoritySnapshot.of(view.authority(), view.x509Authorities()));
      confirmed();
      refresher.recordSuccess();
      LOG.info("the issuer at {} is reachable again", s.issuer());
    } catch (RuntimeException e) {
      int n = refresher.recordFailure(e);
      LOG.warn(
          "the issuer is unreachable; serving the stored identity (attempt {}): {}",
          n,
          e.getMessage());
      publisher.failed(e, n);
      boolean permanent = e instanceof ConfigException;
      scheduleProbe(
          permanent
              ? s.policy().refusalDelay(++probeFailures, nextRandom())
              : s.policy().retryDelay(++probeFailures, nextRandom()));
    }
  }

  private synchronized void confirmed() {
    unconfirmed = false;
    probeFailures = 0;
    if (probe != null) {
      probe.cancel(false);
      probe = null;
    }
  }

  private double nextRandom() {
    return random.getAsDouble();
  }

  /** When to renew a restored identity: at the point of its renewal window it would have had, or now if that passed. */
  private Duration restoredDelay(Identity restored, Instant now) {
    Instant issued = restored.notBefore().plus(AnswerVerifier.BACKDATE);
    Duration due = s.policy()
        .refreshDelay(issued, restored.notAfter(), null, nextRandom())
        .minus(Duration.between(issued, now));
    return due.isNegative() ? Duration.ZERO : due;
  }

  /** The answer's x509 authorities that are CA certificates under the pin; the held bundle if it offers none. */
  private List<X509Certificate> renewedAuthorities(IdentityResponse creds, Identity before) {
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

  /** When to renew a new identity, measured on the issuer's clock when its answer says the time. */
  private Duration renewalDelay(IdentityResponse creds, Identity next) {
    Instant serverNow =
        creds.serverTime() != null ? creds.serverTime() : s.clock().instant();
    return s.policy().refreshDelay(serverNow, next.notAfter(), creds.renewAfter(), nextRandom());
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

  private static List<X509Certificate> parseChain(IdentityResponse c) {
    if (c.certificateChain() == null || c.certificateChain().isEmpty()) {
      throw new AnswerRefusedException(
          "refused the issuer's answer: it holds no certificate chain");
    }
    List<X509Certificate> chain = new ArrayList<>();
    for (String pem : c.certificateChain()) {
      try {
        chain.add(Pem.certificate(pem));
      } catch (IllegalArgumentException e) {
        throw new AnswerRefusedException(
            "refused the issuer's answer: a certificate does not parse: " + e.getMessage(), e);
      }
    }
    return chain;
  }

  // ---------------------------------------------------------------- outcomes

  /** Publishes each new identity and judges each failure for the refresher. */
  private final class Publication implements Refresher.Outcomes<Identity> {
    @Override
    public Instant notAfter(Identity id) {
      return id.notAfter();
    }

    @Override
    public void published(Identity before, Identity next) {
      onSuccess(before, next);
    }

    @Override
    public Refresher.Retry failed(Throwable error, int consecutive, Identity current) {
      return onFailure(error, consecutive, current);
    }

    @Override
    public void expired(Identity id) {
      publisher.expired(id);
    }
  }

  private void onSuccess(Identity before, Identity next) {
    locked = false;
    if (next == restoredIdentity && unconfirmed) {
      scheduleProbe(Duration.ZERO);
    }
    publisher.publish(before, next, next == restoredIdentity, s.storage());
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

  private Refresher.Retry onFailure(Throwable t, int n, Identity cur) {
    if (t instanceof VirtualMachineError) {
      // not an answer of the issuer nor a fault of the identity: this process is in trouble, and
      // retrying would only repeat it
      LOG.error(
          "{} during the {}: not retried; the process needs more memory or a restart",
          t,
          cur == null ? "join" : "renewal");
      publisher.failed(t, n);
      if (cur == null) {
        first.completeExceptionally(t);
      }
      return Refresher.Retry.STOP;
    }
    // a refused answer to a single-use join spent the token: retrying could only say token_consumed
    boolean spentOnRefusal = cur == null
        && t instanceof AnswerRefusedException
        && s.joinMethod().singleUse()
        && tokenSpent;
    boolean permanent = t instanceof IssuerException ie && ie.isPermanent()
        || t instanceof ConfigException
        || t instanceof NewTokenNeededException
        || spentOnRefusal;
    if (t instanceof IssuerException ie && ie.errorCode() == ErrorCode.BOT_LOCKED) {
      if (!locked) {
        locked = true;
        LOG.error(
            "the issuer locked this bot or instance: {}. An operator must remove the lock; a bot whose certificate "
                + "expired meanwhile then needs a new join token.",
            ie.getMessage());
        publisher.locked(ie);
      }
    }
    if (t instanceof NewTokenNeededException) {
      LOG.error("{}", t.getMessage());
    } else {
      LOG.warn("{} failed (attempt {}): {}", cur == null ? "join" : "renewal", n, t.getMessage());
    }
    publisher.failed(t, n);
    if (cur == null && permanent) {
      // cannot succeed by retrying: fail start() now rather than at its timeout
      first.completeExceptionally(
          t instanceof ConfigException || t instanceof JoinException
              ? t
              : spentOnRefusal
                  ? new JoinException(
                      "joining " + s.issuer() + ": " + t.getMessage()
                          + ". Nothing was kept; the single-use "
                          + "token was spent by this join, so a new join token is needed once the issuer answers correctly",
                      t)
                  : new JoinException(
                      "joining " + s.issuer() + " with method '"
                          + s.joinMethod().name() + "' was refused: " + t.getMessage(),
                      t));
      return Refresher.Retry.STOP;
    }
    if (t instanceof NewTokenNeededException) {
      // the configured token can never work again: wait for a new configuration
      return Refresher.Retry.STOP;
    }
    // a permanent refusal is not retried blindly: back off up to the refusal ceiling
    return permanent ? Refresher.Retry.REFUSED : Refresher.Retry.BACKOFF;
  }

  private void heartbeat(Identity id) {
    if (closed || current() != id) {
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
      client.heartbeat(new HeartbeatRequest(
          host, VERSION, Math.max(0, uptime), s.oneShot(), publisher.outputsHealth()));
    } catch (RuntimeException e) {
      LOG.debug("heartbeat failed: {}", e.getMessage());
    }
  }

  // ---------------------------------------------------------------- role-scoped credentials

  /** Fetches a role-scoped credential now (blocking) and keeps it fresh until closed. */
  public CredentialEngine credentials(dev.machineid.core.CredentialRequest request) {
    if (closed) {
      throw new IllegalStateException("MachineIdentity is closed");
    }
    Identity id = current();
    if (id == null) {
      throw new IllegalStateException(
          "no identity yet: call start() before asking for credentials");
    }
    CredentialEngine engine = new CredentialEngine(
        request,
        client,
        s.keyAlgorithm(),
        s.policy(),
        s.clock(),
        s.executor(),
        authority::get,
        this::current,
        random,
        () -> clockOffset);
    engine.start();
    credentials.add(engine);
    return engine;
  }

  // ---------------------------------------------------------------- health and close

  /** The newest authorities as accepted, or {@code null} before any arrived. */
  public AuthoritySnapshot authoritySnapshot() {
    return authority.get();
  }

  /** The newest authority document, or {@code null} before one arrived. */
  public dev.machineid.core.protocol.Authority authorityDocument() {
    AuthoritySnapshot a = authority.get();
    return a == null ? null : a.document();
  }

  public Health health() {
    Identity cur = current();
    Health.State st = refresher.state();
    Throwable e = refresher.lastError();
    return new Health(
        st,
        e == null ? null : e.getMessage(),
        refresher.consecutiveFailures(),
        refresher.nextRefresh(),
        cur == null ? null : cur.notAfter(),
        clockOffset);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    refresher.close();
    synchronized (this) {
      if (probe != null) {
        probe.cancel(false);
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
