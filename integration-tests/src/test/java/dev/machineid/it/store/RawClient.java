package dev.machineid.it.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.Credentials;
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
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/** A minimal protocol v1 client over {@link HttpClient}, trusting only the issuer authority; for issuers in this JVM or another. */
final class RawClient {
  static final Duration TIMEOUT = Duration.ofSeconds(20);

  private final URI base;
  private final HttpClient http;

  /** An anonymous client (no client certificate). */
  RawClient(URI base, X509Certificate authority) {
    this(base, authority, null, null);
  }

  /** A client presenting {@code chain} with {@code key} over mTLS. */
  RawClient(URI base, X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    this.base = base;
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(TIMEOUT)
            .sslContext(sslContext(authority, key, chain))
            .build();
  }

  static RawClient as(URI base, X509Certificate authority, KeyPair keys, Credentials credentials) {
    List<X509Certificate> chain = credentials.certificateChain().stream().map(Pem::certificate).toList();
    return new RawClient(base, authority, keys.getPrivate(), chain.toArray(X509Certificate[]::new));
  }

  record Reply(int status, String contentType, String body) {
    JsonNode json() {
      try {
        return Protocol.mapper().readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + body, e);
      }
    }

    String code() {
      JsonNode c = json().get("code");
      return c == null ? null : c.asText();
    }

    <T> T as(Class<T> type) {
      try {
        return Protocol.mapper().readValue(body, type);
      } catch (IOException e) {
        throw new AssertionError("cannot read " + type.getSimpleName() + " from " + body, e);
      }
    }

    @Override
    public String toString() {
      return status + " " + contentType + " " + body;
    }
  }

  Reply send(String method, String path, String contentType, HttpRequest.BodyPublisher body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT).method(method, body);
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(null), r.body());
    } catch (IOException e) {
      throw new AssertionError("request " + method + " " + path + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  Reply post(String path, String json) {
    return send("POST", path, "application/json", HttpRequest.BodyPublishers.ofString(json));
  }

  Reply post(String path, JsonNode json) {
    return post(path, json.toString());
  }

  Reply get(String path) {
    return send("GET", path, null, HttpRequest.BodyPublishers.noBody());
  }

  // ---- protocol steps

  static ObjectNode object() {
    return Protocol.mapper().createObjectNode();
  }

  String challenge(String method, String token, KeyPair keys) {
    ObjectNode req = object().put("join_method", method).put("token", token).put("public_key", Pem.encode(keys.getPublic()));
    Reply r = post("/v1/join/challenge", req);
    if (r.status() != 200) {
      throw new AssertionError("challenge failed: " + r);
    }
    return r.json().get("challenge").asText();
  }

  static ObjectNode joinRequest(String token, String challenge, KeyPair keys, String ttl) {
    ObjectNode req =
        object()
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

  /** challenge + join with a token; returns the raw reply. */
  Reply join(String token, KeyPair keys, String ttl) {
    return post("/v1/join", joinRequest(token, challenge("token", token, keys), keys, ttl));
  }

  Reply renew(long generation, KeyPair newKeys, String ttl) {
    ObjectNode req = object().put("generation", generation).put("public_key", Pem.encode(newKeys.getPublic()));
    if (ttl != null) {
      req.put("ttl", ttl);
    }
    return post("/v1/renew", req);
  }

  // ---- crypto helpers

  static KeyPair ec() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new AssertionError(e);
    }
  }

  static String sign(PrivateKey key, String challenge) {
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

  private static SSLContext sslContext(X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("issuer", authority);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
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
