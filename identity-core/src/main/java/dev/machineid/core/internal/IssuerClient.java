package dev.machineid.core.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.IssuerException;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.CertificatesRequest;
import dev.machineid.core.protocol.CertificatesResponse;
import dev.machineid.core.protocol.ChallengeRequest;
import dev.machineid.core.protocol.ChallengeResponse;
import dev.machineid.core.protocol.Credentials;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.HeartbeatRequest;
import dev.machineid.core.protocol.JoinRequest;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.protocol.RenewRequest;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import okhttp3.ConnectionPool;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;

/**
 * Protocol v1 client. Every call opens a fresh TLS connection with no session resumption, so an
 * authenticated call always presents the current bot certificate and every connection is checked
 * against the pins.
 */
public final class IssuerClient implements Closeable {
  private static final MediaType JSON = MediaType.get("application/json");
  private static final int MAX_RESPONSE_BYTES = 1 << 20;
  private final HttpUrl base;
  private final OkHttpClient http;
  private final RotatingKeyManager keys;
  /** The chain the pinning trust manager accepted for the last call on this thread (calls are synchronous). */
  private final ThreadLocal<List<X509Certificate>> lastChain = ThreadLocal.withInitial(List::of);
  private final PinningTrustManager trust;
  private final ObjectMapper mapper = Protocol.mapper();
  private final Duration timeout;

  public IssuerClient(URI issuer, PinningTrustManager trust, RotatingKeyManager keys, Duration timeout) {
    HttpUrl parsed = HttpUrl.get(issuer);
    if (!parsed.isHttps()) {
      throw new IllegalArgumentException("issuer address must be https: " + issuer);
    }
    this.base = parsed;
    this.trust = trust;
    this.keys = keys;
    this.timeout = timeout;
    this.http =
        new OkHttpClient.Builder()
            // no idle connections: each call is a new connection with the current certificate
            .connectionPool(new ConnectionPool(0, 1, TimeUnit.SECONDS))
            .followRedirects(false)
            .followSslRedirects(false)
            .retryOnConnectionFailure(false)
            .callTimeout(timeout)
            .connectTimeout(timeout)
            .build();
  }

  public URI address() {
    return base.uri();
  }

  /** Reads the trust bundle over the pinned connection and keeps the members the pins vouch for. */
  public AuthorityView authority() {
    try (Response r = execute(new Request.Builder().url(url(Protocol.AUTHORITY_PATH)).get().build())) {
      Authority a = read(r, Authority.class);
      List<X509Certificate> tlsChain = new ArrayList<>(lastChain.get());
      if (tlsChain.isEmpty() && r.handshake() != null) {
        for (Certificate c : r.handshake().peerCertificates()) {
          tlsChain.add((X509Certificate) c);
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
        throw new IdentityException("the issuer's x509_authorities hold no CA certificate that matches the CA pin");
      }
      return new AuthorityView(a, accepted);
    }
  }

  /** The authority document with the members that the pins vouch for. */
  public record AuthorityView(Authority authority, List<X509Certificate> x509Authorities) {}

  public ChallengeResponse challenge(ChallengeRequest request) {
    return post(Protocol.CHALLENGE_PATH, request, ChallengeResponse.class);
  }

  public Credentials join(JoinRequest request) {
    return post(Protocol.JOIN_PATH, request, Credentials.class);
  }

  public Credentials renew(RenewRequest request) {
    return post(Protocol.RENEW_PATH, request, Credentials.class);
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
      json = mapper.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    Request req = new Request.Builder().url(url(path)).post(RequestBody.create(json, JSON)).build();
    try (Response r = execute(req)) {
      return read(r, type);
    }
  }

  private HttpUrl url(String path) {
    return base.newBuilder().encodedPath(path).build();
  }

  private Response execute(Request request) {
    // a new context per call: no session from an earlier call (or an earlier identity) is resumed
    SSLContext context = RotatingSslContext.fresh(new KeyManager[] {keys}, new TrustManager[] {trust});
    OkHttpClient client = http.newBuilder().sslSocketFactory(context.getSocketFactory(), trust).build();
    try {
      Response response = client.newCall(request).execute();
      // OkHttp performs the handshake on this thread for a synchronous call with a fresh pool
      lastChain.set(PinningTrustManager.takeLastValidated());
      return response;
    } catch (javax.net.ssl.SSLHandshakeException e) {
      PinningTrustManager.PinMismatchException wrongPin = causeOf(e, PinningTrustManager.PinMismatchException.class);
      if (wrongPin != null) {
        // permanent: retrying cannot make another server's certificate match the pin
        throw new ConfigException(wrongPin.getMessage(), e);
      }
      throw new IdentityException("TLS to the issuer at " + base + " failed: " + rootMessage(e), e);
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      throw new IdentityException("the issuer at " + base + " presented a certificate that does not name host '"
          + base.host() + "': " + rootMessage(e) + ". Use the address the issuer's certificate was made for", e);
    } catch (IOException e) {
      if (causeOf(e, java.io.InterruptedIOException.class) != null) {
        // OkHttp ends a call at its time limit by closing the socket: say so, not "Socket closed"
        throw new IdentityException("the issuer at " + base + " did not answer " + request.method() + " "
            + request.url().encodedPath() + " within the request timeout of " + (timeout.toMillis() % 1000 == 0 ? GoDuration.format(timeout) : timeout.toMillis() + "ms")
            + ": the request timed out. Check the issuer's health and load, or raise the builder's requestTimeout", e);
      }
      throw new IdentityException("cannot reach the issuer at " + base + ": " + rootMessage(e), e);
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
    // okio's end-of-stream message names its buffer, not what happened
    if (msg.contains("not found: limit=") || t instanceof java.io.EOFException) {
      return "the connection closed before the answer arrived";
    }
    return msg.replaceAll("\\s+", " ").trim();
  }

  private <T> T read(Response r, Class<T> type) {
    ResponseBody body = r.body();
    byte[] bytes = new byte[0];
    if (body != null) {
      try {
        okio.BufferedSource source = body.source();
        if (source.request(MAX_RESPONSE_BYTES + 1L)) {
          throw new IdentityException("the issuer's answer to " + r.request().url().encodedPath() + " exceeds "
              + MAX_RESPONSE_BYTES + " bytes");
        }
        bytes = source.getBuffer().readByteArray();
      } catch (IOException e) {
        throw new IdentityException("reading the issuer's answer failed: " + e.getMessage(), e);
      }
    }
    if (!r.isSuccessful()) {
      throw problem(r, bytes);
    }
    if (type == JsonNode.class && bytes.length == 0) {
      return null;
    }
    try {
      return mapper.readValue(bytes, type);
    } catch (IOException e) {
      throw new IdentityException("the issuer's answer to " + r.request().url().encodedPath()
          + " is not valid protocol v1 JSON: " + e.getMessage(), e);
    }
  }

  private IssuerException problem(Response r, byte[] bytes) {
    dev.machineid.core.protocol.Problem p = dev.machineid.core.protocol.ProblemDocuments.parse(bytes).orElse(null);
    String code = p == null || p.code() == null ? "unknown" : p.code();
    String detail = p == null ? null : dev.machineid.core.protocol.ProblemDocuments.explanation(p);
    return new IssuerException(
        "issuer refused " + r.request().method() + " " + r.request().url().encodedPath() + ": "
            + r.code() + " " + code + (detail != null ? " (" + detail + ")" : ""),
        code, r.code());
  }

  @Override
  public void close() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
  }
}
