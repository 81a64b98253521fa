package dev.machineid.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A protocol v1 client for raw requests to an issuer (in this JVM or another): any method, path,
 * headers and body, anonymous or over mTLS with a given certificate, trusting only the issuer
 * authority. For tests of what an issuer does with requests the SDK would never send, and for the
 * protocol steps themselves ({@link #challenge}, {@link #joinRequest}, {@link #join}, {@link #renew}).
 *
 * <pre>{@code
 * ProtocolClient anonymous = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
 * KeyPair keys = ProtocolClient.ec();
 * ProtocolClient.Reply r = anonymous.join(token, keys, "1h");
 * IdentityResponse c = r.as(IdentityResponse.class);
 * ProtocolClient bot = ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c);
 * assertThat(bot.post("/v1/heartbeat", "{}").status()).isEqualTo(200);
 * }</pre>
 *
 * <p>A failed exchange (connection refused, timeout) throws {@link AssertionError}: in a test it is a
 * failure, not an answer to assert on. Each request has a 20 s time limit.
 */
public final class ProtocolClient {
  /** The connect and request time limit. */
  public static final Duration TIMEOUT = Duration.ofSeconds(20);

  private final URI base;
  private final HttpClient http;

  private ProtocolClient(
      URI base, X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    this.base = Objects.requireNonNull(base, "base");
    Objects.requireNonNull(authority, "authority");
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(TIMEOUT)
        .sslContext(sslContext(authority, key, chain))
        .build();
  }

  /** A client without a client certificate, trusting only {@code authority}. */
  public static ProtocolClient anonymous(URI base, X509Certificate authority) {
    return new ProtocolClient(base, authority, null, null);
  }

  /** A client presenting {@code chain} with {@code key} over mTLS, trusting only {@code authority}. */
  public static ProtocolClient mtls(
      URI base, X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(chain, "chain");
    return new ProtocolClient(base, authority, key, chain);
  }

  /**
   * A client presenting the certificate chain of {@code credentials} with {@code keys} over mTLS.
   * The wire type is exported to the testkit only; tests that name it run on the class path.
   */
  @SuppressWarnings("exports") // the protocol client speaks the wire model on purpose
  public static ProtocolClient as(
      URI base, X509Certificate authority, KeyPair keys, IdentityResponse credentials) {
    List<X509Certificate> chain =
        credentials.certificateChain().stream().map(Pem::certificate).toList();
    return mtls(base, authority, keys.getPrivate(), chain.toArray(X509Certificate[]::new));
  }

  /**
   * One answer: status, {@code Content-Type} and body as text.
   *
   * @param status the HTTP status
   * @param contentType the {@code Content-Type} header, or {@code null}
   * @param body the body as UTF-8 text
   */
  public record Reply(int status, String contentType, String body) {
    /** The body as JSON. */
    public JsonNode json() {
      try {
        return Protocol.reader().readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    /** The problem's {@code code}, or {@code null}. */
    public String code() {
      JsonNode c = json().get("code");
      return c == null ? null : c.asText();
    }

    /** The body read as a protocol type, e.g. {@code IdentityResponse.class}. */
    public <T> T as(Class<T> type) {
      try {
        return Protocol.reader().readValue(body, type);
      } catch (IOException e) {
        throw new AssertionError("cannot read " + type.getSimpleName() + " from " + body, e);
      }
    }

    @Override
    public String toString() {
      return status + " " + contentType + " " + body;
    }
  }

  /** Sends any request: {@code contentType} may be {@code null}, {@code body} any publisher. */
  public Reply send(
      String method, String path, String contentType, HttpRequest.BodyPublisher body) {
    return request(
        method, path, contentType == null ? Map.of() : Map.of("Content-Type", contentType), body);
  }

  /** Sends any request with the given headers (those {@code java.net.http} allows a caller to set). */
  public Reply request(
      String method, String path, Map<String, String> headers, HttpRequest.BodyPublisher body) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT).method(method, body);
    headers.forEach(b::header);
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(
          r.statusCode(), r.headers().firstValue("Content-Type").orElse(null), r.body());
    } catch (IOException e) {
      throw new AssertionError("request " + method + " " + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** {@code POST} of a JSON text (sent as written, valid or not). */
  public Reply post(String path, String json) {
    return send("POST", path, "application/json", HttpRequest.BodyPublishers.ofString(json));
  }

  /** {@code POST} of a JSON value. */
  public Reply post(String path, JsonNode json) {
    return post(path, json.toString());
  }

  /** {@code GET}. */
  public Reply get(String path) {
    return send("GET", path, null, HttpRequest.BodyPublishers.noBody());
  }

  // ---- protocol steps

  /** An empty JSON object to build a request in. */
  public static ObjectNode object() {
    return Protocol.nodes().objectNode();
  }

  /** Asks for a challenge; fails the test unless it is given. */
  public String challenge(String method, String token, KeyPair keys) {
    ObjectNode req = object()
        .put("join_method", method)
        .put("token", token)
        .put("public_key", Pem.encode(keys.getPublic()));
    Reply r = post("/v1/join/challenge", req);
    if (r.status() != 200) {
      throw new AssertionError("challenge failed: " + r);
    }
    return r.json().get("challenge").asText();
  }

  /** A {@code token} join request for {@code challenge}, signed with {@code keys}; {@code ttl} may be {@code null}. */
  public static ObjectNode joinRequest(String token, String challenge, KeyPair keys, String ttl) {
    ObjectNode req = object()
        .put("join_method", "token")
        .put("token", token)
        .put("challenge", challenge)
        .put("challenge_signature", sign(keys.getPrivate(), challenge))
        .put("public_key", Pem.encode(keys.getPublic()));
    req.set("proof", object());
    if (ttl != null) {
      req.put("ttl", ttl);
    }
    return req;
  }

  /** Challenge, then join with a token; returns the raw reply. */
  public Reply join(String token, KeyPair keys, String ttl) {
    return post("/v1/join", joinRequest(token, challenge("token", token, keys), keys, ttl));
  }

  /** A renewal at {@code generation} for {@code newKeys}; {@code ttl} may be {@code null}. */
  public Reply renew(long generation, KeyPair newKeys, String ttl) {
    ObjectNode req =
        object().put("generation", generation).put("public_key", Pem.encode(newKeys.getPublic()));
    if (ttl != null) {
      req.put("ttl", ttl);
    }
    return post("/v1/renew", req);
  }

  // ---- crypto helpers

  /** A new EC P-256 key pair. */
  public static KeyPair ec() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /** A new Ed25519 key pair. */
  public static KeyPair ed25519() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /** A new RSA key pair of {@code bits}. */
  public static KeyPair rsa(int bits) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(bits);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /** The {@code challenge_signature}: base64 of {@code key}'s signature over the challenge's UTF-8 bytes. */
  public static String sign(PrivateKey key, String challenge) {
    String alg =
        switch (key.getAlgorithm()) {
          case "EC" -> "SHA256withECDSA";
          case "RSA" -> "SHA256withRSA";
          default -> "Ed25519";
        };
    try {
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(challenge.getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(s.sign());
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  /**
   * A TLS context that trusts only {@code authority} and, when {@code key} is not null, presents
   * {@code chain}: for tests that speak raw bytes to the issuer rather than through this client.
   */
  public static SSLContext sslContext(
      X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("issuer", authority);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyManagerFactory kmf = null;
      if (key != null) {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("bot", key, new char[0], chain);
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new AssertionError(e);
    }
  }
}
