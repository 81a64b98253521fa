package dev.machineid.core.internal.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.IssuerException;
import dev.machineid.core.internal.tls.KeySnapshot;
import dev.machineid.core.internal.tls.RotatingKeyManager;
import dev.machineid.core.internal.tls.RotatingSslContext;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.join.JoinProof;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.CertificatesRequest;
import dev.machineid.core.protocol.CertificatesResponse;
import dev.machineid.core.protocol.ChallengeRequest;
import dev.machineid.core.protocol.ChallengeResponse;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.HeartbeatRequest;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.JoinRequest;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Problem;
import dev.machineid.core.protocol.ProblemDocuments;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.RenewRequest;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;

/**
 * Protocol v1 client over {@code java.net.http}. It keeps one {@link HttpClient} (one TLS context,
 * one connection pool) per trust snapshot: the authorities the pins vouch for and the client
 * certificate the key manager serves. When either changes, the next call builds a new client, so a
 * connection or TLS session made with an old certificate or an old bundle is never reused, and an
 * authenticated call always presents the current bot certificate. Every handshake is checked
 * against the pins and the issuer's host name by {@link PinningTrustManager}.
 *
 * <p>HTTP/1.1 only (the issuer serves nothing else), no redirects, the system's default proxy
 * selector (as {@code https.proxyHost} configures it), a connect timeout and a whole-call timeout.
 */
public final class IssuerClient implements Closeable {
  private static final String JSON = "application/json";
  private static final int MAX_RESPONSE_BYTES = 1 << 20;
  private static final AtomicInteger THREADS = new AtomicInteger();
  private final URI base;
  private final PinningTrustManager trust;
  private final RotatingKeyManager keys;
  private final Duration timeout;
  private final ExecutorService executor;
  private final Object lock = new Object();
  /** The client for the current trust snapshot; replaced, never mutated. */
  private volatile Pooled pooled;

  private volatile boolean closed;

  /** One HTTP client and the trust snapshot it was built for. */
  private record Pooled(List<X509Certificate> authorities, KeySnapshot key, HttpClient client) {
    boolean serves(List<X509Certificate> authorities, KeySnapshot key) {
      return this.key == key && this.authorities.equals(authorities);
    }
  }

  public IssuerClient(
      URI issuer, PinningTrustManager trust, RotatingKeyManager keys, Duration timeout) {
    if (issuer == null
        || !"https".equalsIgnoreCase(issuer.getScheme())
        || issuer.getHost() == null) {
      throw new IllegalArgumentException("issuer address must be https: " + issuer);
    }
    this.base = issuer;
    this.trust = trust;
    this.keys = keys;
    this.timeout = timeout;
    this.executor = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "machineid-issuer-client-" + THREADS.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public URI address() {
    return base;
  }

  /**
   * The HTTP client for the current trust snapshot (the authorities installed in the trust manager
   * and the certificate the key manager serves), built on first use after either changes.
   */
  HttpClient httpClient() {
    if (closed) {
      throw new IllegalStateException("the issuer client is closed");
    }
    List<X509Certificate> authorities = trust.verifiedAuthorities();
    KeySnapshot key = keys.serving();
    Pooled p = pooled;
    if (p != null && p.serves(authorities, key)) {
      return p.client();
    }
    synchronized (lock) {
      p = pooled;
      if (p != null && p.serves(authorities, key)) {
        return p.client();
      }
      // a new context: no session made under an earlier snapshot (or an earlier identity) is
      // resumed
      SSLContext context =
          RotatingSslContext.fresh(new KeyManager[] {keys}, new TrustManager[] {trust});
      HttpClient.Builder b = HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .followRedirects(HttpClient.Redirect.NEVER)
          .connectTimeout(timeout)
          .sslContext(context)
          .executor(executor);
      ProxySelector proxies = ProxySelector.getDefault();
      if (proxies != null) {
        b.proxy(proxies);
      }
      pooled = new Pooled(authorities, key, b.build());
      return pooled.client();
    }
  }

  /** Reads the trust bundle over the pinned connection and keeps the members the pins vouch for. */
  public AuthorityView authority() {
    HttpResponse<byte[]> r =
        execute(HttpRequest.newBuilder(url(Protocol.AUTHORITY_PATH)).GET());
    Authority a = read(r, Authority.class);
    List<X509Certificate> tlsChain = new ArrayList<>();
    SSLSession session = r.sslSession().orElse(null);
    if (session != null) {
      try {
        for (Certificate c : session.getPeerCertificates()) {
          tlsChain.add((X509Certificate) c);
        }
      } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
        throw new IdentityException(
            "the issuer's TLS session carries no verified certificate chain", e);
      }
    }
    List<X509Certificate> offered = new ArrayList<>();
    if (a.x509Authorities() != null) {
      for (String pem : a.x509Authorities()) {
        offered.add(Pem.certificate(pem));
      }
    }
    List<X509Certificate> accepted = trust.acceptAuthorities(offered, tlsChain);
    if (accepted.isEmpty()) {
      throw new IdentityException(
          "the issuer's x509_authorities hold no CA certificate that matches the CA pin");
    }
    return new AuthorityView(a, accepted);
  }

  /** The authority document with the members that the pins vouch for. */
  public record AuthorityView(Authority authority, List<X509Certificate> x509Authorities) {}

  /**
   * The {@code proof} object of a join request: the method's {@link JoinProof} as JSON, fields in
   * the order the method gave them.
   */
  public static JsonNode proof(JoinMethod method, JoinProof proof) {
    if (proof == null) {
      throw new dev.machineid.core.JoinException(
          "join method '" + method.name() + "' (" + method.getClass().getName()
              + ") returned no proof from attest(); return JoinProof.empty() for a method that proves nothing beyond its token");
    }
    return Protocol.toTree(proof.fields());
  }

  public ChallengeResponse challenge(ChallengeRequest request) {
    return post(Protocol.CHALLENGE_PATH, request, ChallengeResponse.class);
  }

  public IdentityResponse join(JoinRequest request) {
    return post(Protocol.JOIN_PATH, request, IdentityResponse.class);
  }

  public IdentityResponse renew(RenewRequest request) {
    return post(Protocol.RENEW_PATH, request, IdentityResponse.class);
  }

  public CertificatesResponse certificates(CertificatesRequest request) {
    return post(Protocol.CERTIFICATES_PATH, request, CertificatesResponse.class);
  }

  public void heartbeat(HeartbeatRequest request) {
    post(Protocol.HEARTBEAT_PATH, request, JsonNode.class);
  }

  private <T> T post(String path, Object body, Class<T> type) {
    byte[] json;
    try {
      json = Protocol.writer().writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    HttpRequest.Builder req = HttpRequest.newBuilder(url(path))
        .header("Content-Type", JSON)
        .POST(HttpRequest.BodyPublishers.ofByteArray(json));
    return read(execute(req), type);
  }

  private URI url(String path) {
    return base.resolve(path);
  }

  private HttpResponse<byte[]> execute(HttpRequest.Builder builder) {
    HttpRequest request = builder.timeout(timeout).build();
    HttpClient client = httpClient();
    CompletableFuture<HttpResponse<byte[]>> call =
        client.sendAsync(request, info -> new Bounded(request));
    try {
      // the request timeout covers the answer's head; this one also covers its body
      return call.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      call.cancel(true);
      Thread.currentThread().interrupt();
      throw new IdentityException("interrupted while calling the issuer at " + base, e);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw timedOut(request, e);
    } catch (CancellationException e) {
      throw new IdentityException("the call to the issuer at " + base + " was cancelled", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      if (cause instanceof IdentityException ie) {
        throw ie;
      }
      throw failure(request, cause);
    }
  }

  private IdentityException failure(HttpRequest request, Throwable e) {
    PinningTrustManager.PinMismatchException wrongPin =
        causeOf(e, PinningTrustManager.PinMismatchException.class);
    if (wrongPin != null) {
      // permanent: retrying cannot make another server's certificate match the pin
      return new ConfigException(wrongPin.getMessage(), e);
    }
    PinningTrustManager.HostMismatchException wrongHost =
        causeOf(e, PinningTrustManager.HostMismatchException.class);
    if (wrongHost != null) {
      return new IdentityException(
          "the issuer at " + base + " presented a certificate that does not name host '"
              + base.getHost() + "': " + rootMessage(e)
              + ". Use the address the issuer's certificate was made for",
          e);
    }
    if (causeOf(e, SSLHandshakeException.class) != null) {
      return new IdentityException(
          "TLS to the issuer at " + base + " failed: " + rootMessage(e), e);
    }
    if (causeOf(e, HttpTimeoutException.class) != null) {
      return timedOut(request, e);
    }
    return new IdentityException("cannot reach the issuer at " + base + ": " + rootMessage(e), e);
  }

  private IdentityException timedOut(HttpRequest request, Throwable e) {
    return new IdentityException(
        "the issuer at " + base + " did not answer " + request.method() + " "
            + request.uri().getRawPath() + " within the request timeout of "
            + (timeout.toMillis() % 1000 == 0
                ? GoDuration.format(timeout)
                : timeout.toMillis() + "ms")
            + ": the request timed out. Check the issuer's health and load, or raise the builder's requestTimeout",
        e);
  }

  /**
   * Collects the answer's body up to {@link #MAX_RESPONSE_BYTES}; a longer one fails the call
   * without reading the rest.
   */
  private static final class Bounded implements HttpResponse.BodySubscriber<byte[]> {
    private final HttpRequest request;
    private final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private Flow.Subscription subscription;

    Bounded(HttpRequest request) {
      this.request = request;
    }

    @Override
    public CompletionStage<byte[]> getBody() {
      return result;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      s.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(List<ByteBuffer> items) {
      for (ByteBuffer b : items) {
        if (bytes.size() + (long) b.remaining() > MAX_RESPONSE_BYTES) {
          subscription.cancel();
          result.completeExceptionally(new IdentityException("the issuer's answer to "
              + request.uri().getRawPath() + " exceeds " + MAX_RESPONSE_BYTES + " bytes"));
          return;
        }
        byte[] chunk = new byte[b.remaining()];
        b.get(chunk);
        bytes.write(chunk, 0, chunk.length);
      }
    }

    @Override
    public void onError(Throwable t) {
      result.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      result.complete(bytes.toByteArray());
    }
  }

  private static <T extends Throwable> T causeOf(Throwable e, Class<T> type) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    String msg = e.getMessage();
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
      if (t.getMessage() != null) {
        msg = t.getMessage();
      }
    }
    if (msg == null) {
      return e.toString();
    }
    // an end-of-stream message names a buffer or a parser, not what happened
    if (t instanceof java.io.EOFException || msg.contains("received no bytes")) {
      return "the connection closed before the answer arrived";
    }
    return msg.replaceAll("\\s+", " ").trim();
  }

  private <T> T read(HttpResponse<byte[]> r, Class<T> type) {
    byte[] bytes = r.body() == null ? new byte[0] : r.body();
    if (r.statusCode() < 200 || r.statusCode() > 299) {
      throw problem(r, bytes);
    }
    if (type == JsonNode.class && bytes.length == 0) {
      return null;
    }
    try {
      return Protocol.reader().readValue(bytes, type);
    } catch (IOException e) {
      throw new IdentityException(
          "the issuer's answer to " + r.request().uri().getRawPath()
              + " is not valid protocol v1 JSON: " + e.getMessage(),
          e);
    }
  }

  private IssuerException problem(HttpResponse<byte[]> r, byte[] bytes) {
    Problem p = ProblemDocuments.parse(bytes).orElse(null);
    String code = p == null || p.code() == null ? "unknown" : p.code();
    String detail = p == null ? null : ProblemDocuments.explanation(p);
    return new IssuerException(
        "issuer refused " + r.request().method() + " " + r.request().uri().getRawPath() + ": "
            + r.statusCode() + " " + code + (detail != null ? " (" + detail + ")" : ""),
        code,
        r.statusCode());
  }

  /**
   * Stops the client's threads. Idle connections of the last HTTP client close when the JDK
   * collects it (java.net.http on Java 17 has no close; on Java 21 and later it is closed here).
   */
  @Override
  public void close() {
    closed = true;
    Pooled p;
    synchronized (lock) {
      p = pooled;
      pooled = null;
    }
    if (p != null && (Object) p.client() instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception ignored) {
        // closing is best effort; the executor below stops the client's work either way
      }
    }
    executor.shutdown();
  }
}
