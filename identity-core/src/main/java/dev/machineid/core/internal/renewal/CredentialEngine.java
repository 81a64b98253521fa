package dev.machineid.core.internal.renewal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.Credential;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityException;
import dev.machineid.core.IssuerException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.internal.client.IssuerClient;
import dev.machineid.core.internal.tls.BundleTrustManager;
import dev.machineid.core.internal.tls.KeySnapshot;
import dev.machineid.core.internal.tls.RotatingKeyManager;
import dev.machineid.core.internal.tls.RotatingSslContext;
import dev.machineid.core.protocol.CertificatesRequest;
import dev.machineid.core.protocol.CertificatesResponse;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.SshPublicKeys;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one role-scoped credential fresh: fetched with the bot identity over mTLS, checked (the
 * purpose's authority, valid now, no longer than asked or than the bot identity), renewed between a
 * third and a half of its lifetime, retried with the identity's backoff, served fail-closed. It is
 * the only schedule of its credential: a bot renewal does not issue it again. The schedule is the
 * {@link Refresher}'s, the same as the bot identity's; this class holds the {@code /v1/certificates}
 * step and publishes each credential to its key manager and listeners.
 */
public final class CredentialEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger("dev.machineid.core.CredentialHandle");
  private final CredentialRequest request;
  private final IssuerClient client;
  private final KeyAlgorithm keyAlgorithm;
  private final RenewalPolicy policy;
  private final Clock clock;
  private final AtomicReference<KeySnapshot> keys = new AtomicReference<>();
  private final RotatingKeyManager keyManager;
  private final BundleTrustManager trustManager;
  private final RotatingSslContext sslContext;
  private final List<Consumer<Credential>> listeners = new CopyOnWriteArrayList<>();
  private final Supplier<AuthoritySnapshot> authority;
  private final Supplier<Identity> identity;
  private final DoubleSupplier random;
  private final Supplier<Duration> clockOffset;
  private final Refresher<Credential> refresher;

  public CredentialEngine(
      CredentialRequest request,
      IssuerClient client,
      KeyAlgorithm keyAlgorithm,
      RenewalPolicy policy,
      Clock clock,
      ScheduledExecutorService executor,
      Supplier<AuthoritySnapshot> authority,
      Supplier<Identity> identity,
      DoubleSupplier random,
      Supplier<Duration> clockOffset) {
    this.request = request;
    this.authority = authority;
    this.identity = identity;
    this.random = random;
    this.clockOffset = clockOffset;
    this.client = client;
    this.keyAlgorithm = keyAlgorithm;
    this.policy = policy;
    this.clock = clock;
    this.keyManager = new RotatingKeyManager(keys::get, clock);
    this.trustManager = new BundleTrustManager(() -> trustFor(request.kind(), authority.get()));
    this.sslContext = RotatingSslContext.create(keyManager, trustManager);
    this.refresher = new Refresher<>(
        "credential handle '" + request.name() + "'",
        this::fetch,
        new Publication(),
        policy,
        clock,
        executor,
        random);
  }

  /** The authority that signs credentials of this kind: what an answer must chain to. */
  private static List<X509Certificate> issuingAuthority(CredentialKind kind, AuthoritySnapshot a) {
    if (a == null) {
      return List.of();
    }
    return switch (kind) {
      case DATABASE -> a.databaseClient();
      case KUBERNETES -> a.kubernetesClient();
      case APPLICATION -> a.spiffe();
      default -> a.x509();
    };
  }

  /** Which servers a credential of this kind is meant to reach, and so which authority to trust. */
  private static List<X509Certificate> trustFor(CredentialKind kind, AuthoritySnapshot a) {
    if (a == null) {
      return null;
    }
    return switch (kind) {
      case DATABASE -> a.databaseServer();
      case APPLICATION -> a.spiffe();
      default -> a.x509();
    };
  }

  public CredentialRequest request() {
    return request;
  }

  public Credential current() {
    return refresher.current();
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

  public Throwable lastError() {
    return refresher.lastError();
  }

  /** When the next refresh is due, or {@code null} if none is scheduled. */
  public Instant nextRefresh() {
    return refresher.nextRefresh();
  }

  public void addListener(Consumer<Credential> l) {
    listeners.add(l);
  }

  /** Fetches the first credential on the caller's thread; failures are thrown as they are. */
  public Credential start() {
    return refresher.attempt();
  }

  public CompletableFuture<Credential> refreshNow() {
    return refresher.refreshNow();
  }

  /** Publishes each credential to this handle's TLS and listeners; a failure before the first is the caller's. */
  private final class Publication implements Refresher.Outcomes<Credential> {
    @Override
    public Instant notAfter(Credential c) {
      return c.notAfter();
    }

    @Override
    public void published(Credential before, Credential next) {
      if (next.privateKey().isPresent() && !next.certificateChain().isEmpty()) {
        keyManager.retire(keys.getAndSet(
            KeySnapshot.of(next.certificateChain(), next.privateKey().get())));
        sslContext.rotate();
      }
      for (Consumer<Credential> l : listeners) {
        try {
          l.accept(next);
        } catch (RuntimeException e) {
          LOG.warn("a credential listener threw: {}", e.toString());
        }
      }
    }

    @Override
    public Refresher.Retry failed(Throwable e, int n, Credential current) {
      LOG.warn(
          "credential '{}' refresh failed (attempt {}): {}", request.name(), n, e.getMessage());
      if (current == null) {
        // the first fetch runs on the caller's thread, which gets the failure
        return Refresher.Retry.STOP;
      }
      return e instanceof IssuerException ie && ie.isPermanent()
          ? Refresher.Retry.REFUSED
          : Refresher.Retry.BACKOFF;
    }
  }

  private Refresher.Fresh<Credential> fetch(Credential before) {
    CredentialKind kind = request.kind();
    KeyPair kp =
        kind == CredentialKind.JWT_SVID ? null : refresher.pendingKey().get(keyAlgorithm::generate);
    JsonNode target = Protocol.toTree(request.target());
    String ttl = request.ttl() == null ? null : GoDuration.format(request.ttl());
    CertificatesRequest body = new CertificatesRequest(
        kind.wire(),
        request.roles(),
        kp != null && !kind.isSsh() ? Pem.encode(kp.getPublic()) : null,
        kp != null && kind.isSsh() ? SshPublicKeys.authorizedKey(kp.getPublic()) : null,
        ttl,
        target);
    CertificatesResponse r = client.certificates(body);
    if (r.notAfter() == null) {
      throw new IdentityException("the issuer's credential answer has no not_after");
    }
    List<X509Certificate> chain = new ArrayList<>();
    if (r.certificateChain() != null) {
      for (String pem : r.certificateChain()) {
        chain.add(Pem.certificate(pem));
      }
    }
    if (kind.isX509() && chain.isEmpty()) {
      throw new IdentityException(
          "the issuer answered a " + kind.wire() + " request without a certificate chain");
    }
    if (kind.isSsh() && r.sshCertificate() == null) {
      throw new IdentityException(
          "the issuer answered an " + kind.wire() + " request without an SSH certificate");
    }
    if (kind == CredentialKind.JWT_SVID && r.token() == null) {
      throw new IdentityException("the issuer answered a jwt_svid request without a token");
    }
    // checked before anything is kept: the right authority, valid now, no longer than asked or the
    // bot identity
    Identity bot = identity.get();
    Instant botNotAfter = bot == null ? null : bot.notAfter();
    Instant now = clock.instant();
    if (kind.isX509()) {
      AnswerVerifier.verifyCredentialChain(
          kind,
          chain,
          kp.getPublic(),
          issuingAuthority(kind, authority.get()),
          request.ttl(),
          botNotAfter,
          now,
          clockOffset.get());
    }
    AnswerVerifier.verifyNotAfter(
        kind, r.notAfter(), request.ttl(), botNotAfter, now, clockOffset.get());
    refresher.pendingKey().accepted();
    Credential c = new Credential(
        kind,
        chain,
        kp == null ? null : kp.getPrivate(),
        kp == null ? null : kp.getPublic(),
        r.sshCertificate(),
        r.token(),
        r.notAfter());
    Instant serverNow = r.serverTime() != null ? r.serverTime() : clock.instant();
    Duration refreshIn = policy.refreshDelay(serverNow, r.notAfter(), null, random.getAsDouble());
    LOG.info("credential '{}' issued: {}", request.name(), c);
    return new Refresher.Fresh<>(c, refreshIn);
  }

  public boolean isClosed() {
    return refresher.isClosed();
  }

  @Override
  public void close() {
    refresher.close();
  }
}
