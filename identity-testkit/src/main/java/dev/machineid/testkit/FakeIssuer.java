package dev.machineid.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.machineid.core.CaPin;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.CertificatesResponse;
import dev.machineid.core.protocol.ChallengeResponse;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManager;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A scriptable issuer that speaks protocol v1 over TLS, for testing what a client does with the
 * issuer's answers — above all with bad ones. It holds the key of the authority the client pins (a
 * {@link TestCertificateAuthority} the test controls), answers honestly by default, and lets a test
 * rewrite the next answers: an expired or not-yet-valid certificate, a longer lifetime than asked,
 * another bot, trust domain or generation, a chain from another authority, a bot leaf slipped into
 * the trust bundle, a refusal, a hang.
 *
 * <pre>{@code
 * try (TestCertificateAuthority ca = TestCertificateAuthority.create("fake issuer");
 *      FakeIssuer issuer = FakeIssuer.builder().authority(ca).bot("app").start();
 *      MachineIdentity id = issuer.identityBuilder().build()) {
 *   id.start();
 *   issuer.answerNext(a -> a.notAfter(a.notBefore().plusSeconds(1)));   // already expired
 *   assertThatThrownBy(() -> id.renewNow().join()).hasRootCauseInstanceOf(AnswerRefusedException.class);
 * }
 * }</pre>
 *
 * <p>What it implements: {@code GET /v1/authority}, {@code POST /v1/join/challenge}, {@code /v1/join}
 * with a single-use token, {@code /v1/renew} over mTLS with the generation counter (a retry of the
 * last renewal with the same key gets the same answer, as from the real issuer, unless the test
 * scripted the next answer), {@code /v1/certificates} for the X.509 kinds
 * ({@code identity}, {@code application}, {@code database}, {@code kubernetes}) and
 * {@code /v1/heartbeat}. It does not check challenge signatures or join proofs other than the token:
 * it is a fixture for clients, not an issuer. Errors are {@code application/problem+json} with a
 * {@code code}, as the real issuer sends them.
 *
 * <p>Listens on {@code 127.0.0.1} with a server certificate from the authority (SAN
 * {@code 127.0.0.1}, chain {@code [server, authority]}), asks for a client certificate and trusts
 * those the authority signed. Threads are daemon threads named {@code machineid-testkit-fake-issuer-<n>}.
 * {@link #close()} is idempotent and releases any held answer.
 */
public final class FakeIssuer implements AutoCloseable {
  private static final AtomicInteger THREADS = new AtomicInteger();
  private static final Duration BACKDATE = Duration.ofMinutes(1);
  private static final ObjectMapper JSON = Protocol.newMapper();

  private final TestCertificateAuthority authority;
  private final TestCertificateAuthority purposeAuthority;
  private final String trustDomain;
  private final String bot;
  private final String token;
  private final Clock clock;
  private final HttpsServer server;
  private final ExecutorService threads;
  private final URI url;
  private final SecureRandom random = new SecureRandom();
  private final Deque<Consumer<IdentityAnswer>> identityScript = new ArrayDeque<>();
  private final Deque<Consumer<CredentialAnswer>> credentialScript = new ArrayDeque<>();
  private final List<X509Certificate> extraAuthorities =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private final Map<String, List<Issuance>> issued = new ConcurrentHashMap<>();
  private final AtomicBoolean tokenUsed = new AtomicBoolean();
  private final AtomicBoolean outage = new AtomicBoolean();
  private final CountDownLatch closing = new CountDownLatch(1);
  private final AtomicBoolean closed = new AtomicBoolean();
  /** The instance's state: generation, key hash of the last renewal, its answer. */
  private final Map<String, Instance> instances = new ConcurrentHashMap<>();

  private volatile boolean hang;

  private record Instance(long generation, String lastKey, byte[] lastAnswer) {}

  private FakeIssuer(Builder b) throws IOException {
    this.authority = b.authority != null
        ? b.authority
        : TestCertificateAuthority.create("fake issuer authority", b.clock);
    this.purposeAuthority = TestCertificateAuthority.create("fake purpose authority", b.clock);
    this.trustDomain = b.trustDomain;
    this.bot = b.bot;
    this.token = b.token != null ? b.token : "fake-token-" + UUID.randomUUID();
    this.clock = b.clock;
    TestCertificateAuthority.Issued serverCert =
        authority.issueServerCertificate(List.of("127.0.0.1", "localhost"));
    SSLContext tls;
    try {
      tls = SSLContext.getInstance("TLS");
      tls.init(
          new KeyManager[] {serverCert.keyManager()},
          new TrustManager[] {new ClockedClientTrust(authority.certificate(), clock)},
          null);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot make the fake issuer's TLS context: " + e, e);
    }
    this.server = HttpsServer.create(new InetSocketAddress(MtlsServer.LOOPBACK_V4, b.port), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(tls) {
      @Override
      public void configure(HttpsParameters params) {
        SSLParameters p = tls.getDefaultSSLParameters();
        p.setWantClientAuth(true);
        params.setSSLParameters(p);
      }
    });
    this.threads = Executors.newCachedThreadPool(
        new NamedDaemonThreads("machineid-testkit-fake-issuer-", THREADS));
    server.setExecutor(threads);
    server.createContext("/", this::handle);
    server.start();
    this.url = URI.create("https://127.0.0.1:" + server.getAddress().getPort());
  }

  /** @return a builder; every setting has a default */
  public static Builder builder() {
    return new Builder();
  }

  /** The address, {@code https://127.0.0.1:<port>}. */
  public URI url() {
    return url;
  }

  /** The pin of the authority, as a client configures it. */
  public CaPin caPin() {
    return CaPin.of(authority.certificate());
  }

  /** The single-use join token of {@link #bot()}. */
  public String token() {
    return token;
  }

  /** The bot the token joins. */
  public String bot() {
    return bot;
  }

  public String trustDomain() {
    return trustDomain;
  }

  /** The pinned authority: signs the server certificate, bot identities and {@code identity} credentials. */
  public TestCertificateAuthority authority() {
    return authority;
  }

  /** The authority of the {@code application}, {@code database} and {@code kubernetes} credentials. */
  public TestCertificateAuthority purposeAuthority() {
    return purposeAuthority;
  }

  /** A builder set with this issuer's address, pin and token, and a 10 s start timeout. */
  public dev.machineid.core.MachineIdentity.Builder identityBuilder() {
    return dev.machineid.core.MachineIdentity.builder()
        .issuer(url)
        .caPin(caPin())
        .token(token)
        .startTimeout(Duration.ofSeconds(10));
  }

  /** Rewrites the next join or renewal answer (one edit per answer, in order). */
  public FakeIssuer answerNext(Consumer<IdentityAnswer> edit) {
    synchronized (identityScript) {
      identityScript.add(Objects.requireNonNull(edit, "edit"));
    }
    return this;
  }

  /** Rewrites the next {@code /v1/certificates} answer (one edit per answer, in order). */
  public FakeIssuer credentialNext(Consumer<CredentialAnswer> edit) {
    synchronized (credentialScript) {
      credentialScript.add(Objects.requireNonNull(edit, "edit"));
    }
    return this;
  }

  /** Adds a certificate to every {@code x509_authorities} list from now on (e.g. a bot leaf, for a negative test). */
  public FakeIssuer addToTrustBundle(X509Certificate certificate) {
    extraAuthorities.add(Objects.requireNonNull(certificate, "certificate"));
    return this;
  }

  /** While on, every call is answered {@code 503} with code {@code unavailable}, as an issuer whose database is down. */
  public FakeIssuer outage(boolean on) {
    outage.set(on);
    return this;
  }

  /** While on, every call is held without an answer (until turned off or closed): the client's timeout must end it. */
  public FakeIssuer hang(boolean on) {
    hang = on;
    return this;
  }

  /** How many requests reached {@code path} (e.g. {@code /v1/join}), refused ones included. */
  public int calls(String path) {
    AtomicInteger n = calls.get(path);
    return n == null ? 0 : n.get();
  }

  /** How many credentials of {@code kind} (wire name, e.g. {@code database}) were issued. */
  public int issued(String kind) {
    return issuances(kind).size();
  }

  /** Each credential of {@code kind} issued so far, in order: when (on the fake's clock) and until when. */
  public List<Issuance> issuances(String kind) {
    List<Issuance> l = issued.get(kind);
    return l == null ? List.of() : List.copyOf(l);
  }

  /**
   * One credential the fake issued.
   *
   * @param at when, on the fake's clock
   * @param notAfter its expiry
   */
  public record Issuance(Instant at, Instant notAfter) {}

  /**
   * A CA certificate that the pinned authority signs for {@code key} (an intermediate under the pin),
   * as a rotation would add to the trust bundle.
   */
  public X509Certificate issueAuthority(String commonName, PublicKey key) {
    Instant now = clock.instant();
    return build(
        name(commonName),
        key,
        authority.certificate(),
        authority.keyPair().getPrivate(),
        now.minus(BACKDATE),
        now.plus(Duration.ofDays(30)),
        true,
        List.of(),
        List.of(),
        null);
  }

  /**
   * A leaf that the pinned authority signs for {@code key}: not a CA, {@code clientAuth} and
   * {@code serverAuth}, SAN {@code 127.0.0.1}, valid an hour — what a bot's certificate looks like to
   * a trust store, for tests that slip one into a bundle.
   */
  public X509Certificate issueLeaf(String commonName, PublicKey key) {
    Instant now = clock.instant();
    return build(
        name(commonName),
        key,
        authority.certificate(),
        authority.keyPair().getPrivate(),
        now.minus(BACKDATE),
        now.plus(Duration.ofHours(1)),
        false,
        List.of(new GeneralName(GeneralName.iPAddress, "127.0.0.1")),
        List.of(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth),
        null);
  }

  /**
   * A server certificate for {@code 127.0.0.1} signed by {@code issuerKey} in the name of
   * {@code issuer} — with a leaf as {@code issuer}, a certificate no correct trust store accepts.
   */
  public static X509Certificate serverCertificateSignedBy(
      X509Certificate issuer, PrivateKey issuerKey, PublicKey key) {
    Instant now = Instant.now();
    return build(
        name("127.0.0.1"),
        key,
        issuer,
        issuerKey,
        now.minus(BACKDATE),
        now.plus(Duration.ofHours(1)),
        false,
        List.of(new GeneralName(GeneralName.iPAddress, "127.0.0.1")),
        List.of(KeyPurposeId.id_kp_serverAuth),
        null);
  }

  // ---------------------------------------------------------------- answers a test rewrites

  /**
   * The bot identity about to be sent, as an honest issuer would make it; every setter changes what
   * is sent. The JSON and the certificate are built from these values after the edit.
   */
  public static final class IdentityAnswer {
    private String bot;
    private String certificateBot;
    private String trustDomain;
    private String instanceId;
    private long generation;
    private Instant notBefore;
    private Instant notAfter;
    private TestCertificateAuthority signedBy;
    private final List<X509Certificate> bundleExtras = new ArrayList<>();
    private int refuseStatus;
    private String refuseCode;
    private final Duration asked;

    IdentityAnswer(
        String bot,
        String trustDomain,
        String instanceId,
        long generation,
        Instant notBefore,
        Instant notAfter,
        Duration asked) {
      this.bot = bot;
      this.certificateBot = bot;
      this.trustDomain = trustDomain;
      this.instanceId = instanceId;
      this.generation = generation;
      this.notBefore = notBefore;
      this.notAfter = notAfter;
      this.asked = asked;
    }

    /** The lifetime the client asked for. */
    public Duration asked() {
      return asked;
    }

    public Instant notBefore() {
      return notBefore;
    }

    public Instant notAfter() {
      return notAfter;
    }

    public long generation() {
      return generation;
    }

    public String instanceId() {
      return instanceId;
    }

    /** The bot the JSON and the certificate name. */
    public IdentityAnswer bot(String name) {
      this.bot = name;
      this.certificateBot = name;
      return this;
    }

    /** The bot only the certificate names (CN and SPIFFE ID); the JSON keeps its own. */
    public IdentityAnswer certificateBot(String name) {
      this.certificateBot = name;
      return this;
    }

    /** The trust domain of the certificate's SPIFFE ID. */
    public IdentityAnswer trustDomain(String trustDomain) {
      this.trustDomain = trustDomain;
      return this;
    }

    public IdentityAnswer instanceId(String instanceId) {
      this.instanceId = instanceId;
      return this;
    }

    /** The generation of the JSON and of the certificate's extension. */
    public IdentityAnswer generation(long generation) {
      this.generation = generation;
      return this;
    }

    public IdentityAnswer notBefore(Instant notBefore) {
      this.notBefore = notBefore;
      return this;
    }

    public IdentityAnswer notAfter(Instant notAfter) {
      this.notAfter = notAfter;
      return this;
    }

    /** Signs the certificate with another authority (the chain then ends in it). */
    public IdentityAnswer signedBy(TestCertificateAuthority other) {
      this.signedBy = other;
      return this;
    }

    /** Adds a certificate to this answer's {@code x509_authorities}. */
    public IdentityAnswer addToTrustBundle(X509Certificate certificate) {
      bundleExtras.add(certificate);
      return this;
    }

    /** Answers with a problem instead: e.g. {@code refuse(403, "bot_locked")}. */
    public IdentityAnswer refuse(int status, String code) {
      this.refuseStatus = status;
      this.refuseCode = code;
      return this;
    }
  }

  /** A role-scoped X.509 credential about to be sent; every setter changes what is sent. */
  public static final class CredentialAnswer {
    private final String kind;
    private Instant notBefore;
    private Instant notAfter;
    private TestCertificateAuthority signedBy;

    CredentialAnswer(
        String kind, Instant notBefore, Instant notAfter, TestCertificateAuthority signedBy) {
      this.kind = kind;
      this.notBefore = notBefore;
      this.notAfter = notAfter;
      this.signedBy = signedBy;
    }

    public String kind() {
      return kind;
    }

    public Instant notBefore() {
      return notBefore;
    }

    public Instant notAfter() {
      return notAfter;
    }

    public CredentialAnswer notBefore(Instant notBefore) {
      this.notBefore = notBefore;
      return this;
    }

    public CredentialAnswer notAfter(Instant notAfter) {
      this.notAfter = notAfter;
      return this;
    }

    public CredentialAnswer signedBy(TestCertificateAuthority other) {
      this.signedBy = other;
      return this;
    }
  }

  // ---------------------------------------------------------------- protocol

  private void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    calls.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
    try (ex) {
      byte[] body = readBody(ex.getRequestBody());
      if (hang) {
        while (hang && !closing.await(50, TimeUnit.MILLISECONDS)) {
          // held: the client's request timeout ends the call
        }
        return;
      }
      if (outage.get()) {
        problem(ex, 503, "unavailable", "the issuer's database is unavailable");
        return;
      }
      switch (path) {
        case "/v1/authority" -> send(ex, 200, JSON.writeValueAsBytes(authorityDocument(List.of())));
        case "/v1/join/challenge" ->
          send(
              ex,
              200,
              JSON.writeValueAsBytes(new ChallengeResponse(
                  Base64.getUrlEncoder().withoutPadding().encodeToString(randomBytes(24)),
                  clock.instant().plusSeconds(120))));
        case "/v1/join" -> join(ex, JSON.readTree(body));
        case "/v1/renew" -> renew(ex, JSON.readTree(body));
        case "/v1/certificates" -> certificates(ex, JSON.readTree(body));
        case "/v1/heartbeat" -> send(ex, 200, "{}".getBytes(StandardCharsets.UTF_8));
        default -> problem(ex, 404, "not_found", "no such call: " + path);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      problem(ex, 400, "malformed_request", String.valueOf(e.getMessage()));
    }
  }

  private void join(HttpExchange ex, JsonNode body) throws IOException {
    if (!token.equals(body.path("token").asText())) {
      problem(ex, 401, "proof_rejected", "the join was refused");
      return;
    }
    if (!tokenUsed.compareAndSet(false, true)) {
      problem(ex, 401, "token_consumed", "the token was already used");
      return;
    }
    String instance = UUID.randomUUID().toString();
    answerIdentity(ex, instance, 1, Pem.publicKey(body.path("public_key").asText()), body, true);
  }

  private void renew(HttpExchange ex, JsonNode body) throws IOException {
    X509Certificate peer = peer(ex);
    if (peer == null) {
      problem(ex, 401, "unauthenticated", "a bot certificate is required");
      return;
    }
    IdentityExtension ext = IdentityExtension.from(peer).orElse(null);
    Instance inst = ext == null ? null : instances.get(ext.instanceId());
    if (inst == null) {
      problem(ex, 401, "unauthenticated", "unknown instance");
      return;
    }
    long presented = body.path("generation").asLong();
    String key = body.path("public_key").asText();
    if (presented == inst.generation() - 1
        && key.equals(inst.lastKey())
        && inst.lastAnswer() != null) {
      boolean scripted;
      synchronized (identityScript) {
        scripted = !identityScript.isEmpty();
      }
      if (scripted) {
        // the test wrote the next answer: issue it at the generation the retry asks for
        answerIdentity(ex, ext.instanceId(), inst.generation(), Pem.publicKey(key), body, false);
      } else {
        send(ex, 200, inst.lastAnswer());
      }
      return;
    }
    if (presented != inst.generation()) {
      problem(ex, 409, "generation_mismatch", "the generation does not match");
      return;
    }
    answerIdentity(ex, ext.instanceId(), inst.generation() + 1, Pem.publicKey(key), body, false);
  }

  private void answerIdentity(
      HttpExchange ex, String instance, long generation, PublicKey key, JsonNode body, boolean join)
      throws IOException {
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Duration ttl =
        body.hasNonNull("ttl") ? GoDuration.parse(body.get("ttl").asText()) : Duration.ofHours(1);
    IdentityAnswer a = new IdentityAnswer(
        bot, trustDomain, instance, generation, now.minus(BACKDATE), now.plus(ttl), ttl);
    Consumer<IdentityAnswer> edit;
    synchronized (identityScript) {
      edit = identityScript.poll();
    }
    if (edit != null) {
      edit.accept(a);
    }
    if (a.refuseCode != null) {
      problem(ex, a.refuseStatus, a.refuseCode, "refused as scripted");
      return;
    }
    TestCertificateAuthority signer = a.signedBy != null ? a.signedBy : authority;
    X509Certificate leaf = build(
        name("bot-" + a.certificateBot),
        key,
        signer.certificate(),
        signer.keyPair().getPrivate(),
        a.notBefore,
        a.notAfter,
        false,
        List.of(new GeneralName(
            GeneralName.uniformResourceIdentifier,
            SpiffeId.forBot(a.trustDomain, a.certificateBot).toString())),
        List.of(KeyPurposeId.id_kp_clientAuth),
        new IdentityExtension(a.instanceId, a.generation, "token"));
    long third = Duration.between(now, a.notAfter).toMillis() / 3;
    long half = Duration.between(now, a.notAfter).toMillis() / 2;
    Instant renewAfter =
        now.plusMillis(third + (long) (random.nextDouble() * Math.max(0, half - third)));
    IdentityResponse c = new IdentityResponse(
        a.bot,
        a.instanceId,
        a.generation,
        List.of(Pem.encode(leaf), Pem.encode(signer.certificate())),
        null,
        a.notAfter,
        renewAfter,
        now,
        authorityDocument(a.bundleExtras));
    byte[] answer = JSON.writeValueAsBytes(c);
    // the issuer's state advances as the real one's does: stored before the answer is sent
    instances.put(instance, new Instance(generation, body.path("public_key").asText(), answer));
    send(ex, 200, answer);
  }

  private void certificates(HttpExchange ex, JsonNode body) throws IOException {
    X509Certificate peer = peer(ex);
    if (peer == null) {
      problem(ex, 401, "unauthenticated", "a bot certificate is required");
      return;
    }
    String kind = body.path("kind").asText();
    TestCertificateAuthority ca =
        switch (kind) {
          case "identity" -> authority;
          case "application", "database", "kubernetes" -> purposeAuthority;
          default -> null;
        };
    if (ca == null) {
      problem(
          ex,
          400,
          "malformed_request",
          "the fake issuer issues only identity, application, database and kubernetes");
      return;
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    Duration ttl =
        body.hasNonNull("ttl") ? GoDuration.parse(body.get("ttl").asText()) : Duration.ofHours(1);
    if (ttl.compareTo(Duration.ofHours(1)) > 0) {
      ttl = Duration.ofHours(1);
    }
    Instant botExpiry = peer.getNotAfter().toInstant();
    Instant notAfter = now.plus(ttl).isAfter(botExpiry) ? botExpiry : now.plus(ttl);
    CredentialAnswer a = new CredentialAnswer(kind, now.minus(BACKDATE), notAfter, ca);
    Consumer<CredentialAnswer> edit;
    synchronized (credentialScript) {
      edit = credentialScript.poll();
    }
    if (edit != null) {
      edit.accept(a);
    }
    String subject =
        switch (kind) {
          case "database" -> body.path("target").path("database_user").asText("app");
          case "kubernetes" -> body.path("target").path("kubernetes_user").asText("bot-" + bot);
          default -> "bot-" + bot;
        };
    X509Certificate leaf = build(
        name(subject),
        Pem.publicKey(body.path("public_key").asText()),
        a.signedBy.certificate(),
        a.signedBy.keyPair().getPrivate(),
        a.notBefore,
        a.notAfter,
        false,
        List.of(new GeneralName(
            GeneralName.uniformResourceIdentifier,
            SpiffeId.forBot(trustDomain, bot).toString())),
        List.of(KeyPurposeId.id_kp_clientAuth),
        null);
    issued
        .computeIfAbsent(kind, k -> new java.util.concurrent.CopyOnWriteArrayList<>())
        .add(new Issuance(now, a.notAfter));
    send(
        ex,
        200,
        JSON.writeValueAsBytes(new CertificatesResponse(
            List.of(Pem.encode(leaf), Pem.encode(a.signedBy.certificate())),
            null,
            null,
            a.notAfter,
            now)));
  }

  private Authority authorityDocument(List<X509Certificate> more) {
    List<String> x509 = new ArrayList<>();
    x509.add(Pem.encode(authority.certificate()));
    for (X509Certificate c : extraAuthorities) {
      x509.add(Pem.encode(c));
    }
    for (X509Certificate c : more) {
      x509.add(Pem.encode(c));
    }
    List<String> purpose = List.of(Pem.encode(purposeAuthority.certificate()));
    return new Authority(
        trustDomain, x509, purpose, purpose, purpose, purpose, List.of(), List.of(), null);
  }

  private static X509Certificate peer(HttpExchange ex) {
    if (!(ex instanceof HttpsExchange https)) {
      return null;
    }
    try {
      var certs = https.getSSLSession().getPeerCertificates();
      return certs.length == 0 ? null : (X509Certificate) certs[0];
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static byte[] readBody(InputStream in) throws IOException {
    byte[] b = in.readNBytes(1 << 20);
    return b.length == 0 ? "{}".getBytes(StandardCharsets.UTF_8) : b;
  }

  private static void problem(HttpExchange ex, int status, String code, String detail)
      throws IOException {
    byte[] b = JSON.writeValueAsBytes(Map.of(
        "type", "about:blank", "title", code, "status", status, "code", code, "detail", detail));
    ex.getResponseHeaders().set("Content-Type", "application/problem+json");
    ex.sendResponseHeaders(status, b.length);
    ex.getResponseBody().write(b);
  }

  private static void send(HttpExchange ex, int status, byte[] body) throws IOException {
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, body.length);
    ex.getResponseBody().write(body);
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private static X509Certificate build(
      X500Name subject,
      PublicKey key,
      X509Certificate issuer,
      PrivateKey issuerKey,
      Instant notBefore,
      Instant notAfter,
      boolean ca,
      List<GeneralName> sans,
      List<KeyPurposeId> usages,
      IdentityExtension identity) {
    try {
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded()),
          new BigInteger(127, new SecureRandom()).setBit(126),
          Date.from(notBefore),
          Date.from(notAfter),
          subject,
          key);
      b.addExtension(
          Extension.basicConstraints,
          true,
          ca ? new BasicConstraints(0) : new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
      if (!usages.isEmpty()) {
        b.addExtension(
            Extension.extendedKeyUsage,
            false,
            new ExtendedKeyUsage(usages.toArray(KeyPurposeId[]::new)));
      }
      if (!sans.isEmpty()) {
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
      }
      if (identity != null) {
        b.addExtension(new ASN1ObjectIdentifier(IdentityExtension.OID), false, identity.toDer());
      }
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
    } catch (Exception e) {
      throw new IllegalStateException("cannot build a certificate for " + subject + ": " + e, e);
    }
  }

  private static X500Name name(String cn) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build();
  }

  /** Trusts client chains the authority signed, valid on the fake's clock (which a test may move). */
  private static final class ClockedClientTrust extends javax.net.ssl.X509ExtendedTrustManager {
    private final X509Certificate anchor;
    private final Clock clock;

    ClockedClientTrust(X509Certificate anchor, Clock clock) {
      this.anchor = anchor;
      this.clock = clock;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      try {
        List<X509Certificate> path = new ArrayList<>();
        for (X509Certificate c : chain) {
          if (!c.equals(anchor)) {
            path.add(c);
          }
        }
        java.security.cert.PKIXParameters params = new java.security.cert.PKIXParameters(
            java.util.Set.of(new java.security.cert.TrustAnchor(anchor, null)));
        params.setRevocationEnabled(false);
        params.setDate(Date.from(clock.instant()));
        java.security.cert.CertPathValidator.getInstance("PKIX")
            .validate(
                java.security.cert.CertificateFactory.getInstance("X.509").generateCertPath(path),
                params);
      } catch (GeneralSecurityException e) {
        throw new java.security.cert.CertificateException(
            "client certificate refused: " + e.getMessage(), e);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
        throws java.security.cert.CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(
        X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      throw new java.security.cert.CertificateException("the fake issuer is a server");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, java.net.Socket socket)
        throws java.security.cert.CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(
        X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[] {anchor};
    }
  }

  /** Stops listening and releases held answers. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    closing.countDown();
    server.stop(0);
    threads.shutdownNow();
  }

  @Override
  public String toString() {
    return "FakeIssuer[" + url + ", bot " + bot + "]";
  }

  /** Settings of a {@link FakeIssuer}. */
  public static final class Builder {
    private TestCertificateAuthority authority;
    private String trustDomain = "fake.test";
    private String bot = "app";
    private String token;
    private Clock clock = Clock.systemUTC();
    private int port;

    private Builder() {}

    /** The authority the client pins; default a new one. Its key signs everything the fake issues. */
    public Builder authority(TestCertificateAuthority authority) {
      this.authority = Objects.requireNonNull(authority, "authority");
      return this;
    }

    /** Default {@code fake.test}. */
    public Builder trustDomain(String trustDomain) {
      this.trustDomain =
          new SpiffeId(Objects.requireNonNull(trustDomain, "trustDomain"), "").trustDomain();
      return this;
    }

    /** The bot the token joins; default {@code app}. */
    public Builder bot(String bot) {
      this.bot = Objects.requireNonNull(bot, "bot");
      return this;
    }

    /** The join token; default a random one. */
    public Builder token(String token) {
      this.token = Objects.requireNonNull(token, "token");
      return this;
    }

    /** Dates every certificate; default the system clock. A {@link MutableClock} moves the fake with the client. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** A fixed port (e.g. to come back on the same address); default an ephemeral one. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port must be 0-65535, got " + port);
      }
      this.port = port;
      return this;
    }

    /** Starts listening. */
    public FakeIssuer start() {
      try {
        return new FakeIssuer(this);
      } catch (IOException e) {
        throw new IllegalStateException("cannot start the fake issuer: " + e, e);
      }
    }
  }
}
