package dev.machineid.issuer.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.protocol.Problem;
import dev.machineid.core.protocol.ProblemDocuments;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.internal.IoReasons;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A client of {@code /v1/admin/...}: mTLS with an admin certificate, trusting only the issuer
 * authority. Answers are JSON trees; a problem answer becomes an {@link AdminException} carrying its
 * code and detail.
 *
 * <pre>{@code
 * AdminClient admin = new AdminClient(URI.create("https://localhost:8443"), authorityCert, adminKey, adminChain);
 * JsonNode bots = admin.get("bots", Map.of());
 * }</pre>
 */
public final class AdminClient {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final URI base;
  private final HttpClient http;

  public AdminClient(
      URI issuer, X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    this.base = Objects.requireNonNull(issuer, "issuer");
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(TIMEOUT)
        .sslContext(ssl(authority, key, chain))
        .build();
  }

  public URI issuer() {
    return base;
  }

  public JsonNode get(String path, Map<String, String> query) {
    String q = query.entrySet().stream()
        .filter(e -> e.getValue() != null)
        .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "="
            + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
        .collect(Collectors.joining("&"));
    return send("GET", path + (q.isEmpty() ? "" : "?" + q), null);
  }

  public JsonNode post(String path, JsonNode body) {
    return send("POST", path, body);
  }

  public JsonNode put(String path, JsonNode body) {
    return send("PUT", path, body);
  }

  public JsonNode patch(String path, JsonNode body) {
    return send("PATCH", path, body);
  }

  public void delete(String path) {
    send("DELETE", path, null);
  }

  private JsonNode send(String method, String path, JsonNode body) {
    URI uri = base.resolve("/v1/admin/" + path);
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(TIMEOUT);
    if (body == null && method.equals("POST")) {
      // the issuer refuses a POST without Content-Type: application/json (415)
      body = Protocol.nodes().objectNode();
    }
    if (body != null) {
      b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    HttpResponse<String> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AdminException(
          0, null, "cannot reach the issuer at " + base + ": " + IoReasons.connection(base, e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AdminException(0, null, "interrupted while calling " + base, e);
    }
    if (r.statusCode() >= 400) {
      Problem p = ProblemDocuments.parse(r.body()).orElse(null);
      String code = p == null ? null : p.code();
      String detail = p == null ? null : p.detail();
      throw new AdminException(
          r.statusCode(),
          code,
          (code == null ? "HTTP " + r.statusCode() : code) + (detail == null ? "" : ": " + detail),
          null);
    }
    JsonNode json = null;
    if (!r.body().isEmpty()) {
      try {
        json = Protocol.reader().readTree(r.body());
      } catch (IOException e) {
        throw new AdminException(
            r.statusCode(),
            null,
            "the issuer answered " + r.statusCode() + " with a body that is not JSON",
            e);
      }
    }
    return json == null ? Protocol.nodes().nullNode() : json;
  }

  private static SSLContext ssl(
      X509Certificate authority, PrivateKey key, X509Certificate[] chain) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("issuer", authority);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("admin", key, new char[0], chain);
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException(
          "cannot set up TLS for the admin client: " + e.getMessage(), e);
    }
  }
}
