package dev.machineid.issuer.internal.aws;

import static dev.machineid.issuer.internal.aws.Rejections.reject;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.protocol.ChallengeId;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.join.JoinAttempt;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.VerifiedJoin;
import dev.machineid.issuer.join.VerifierContext;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code iam} verifier (docs/architecture.md §6, §11.6): checks a SigV4-signed {@code sts:GetCallerIdentity}
 * request from the client, forwards it to a known STS endpoint only, never following a redirect,
 * parses the reply strictly and applies the token's {@code aws_account}/{@code aws_arn} rules.
 *
 * <p>Settings: {@code additional_sts_endpoints} (host or host:port entries, or https URLs, added to
 * the built-in list with a warning), {@code sts_ca_pem} (PEM certificates trusted for STS in addition
 * to the JDK's roots), {@code timeout} (default {@code 10s}).
 */
public final class IamVerifierProvider implements JoinVerifierProvider {
  private static final Set<String> SETTINGS =
      Set.of("additional_sts_endpoints", "sts_ca_pem", "timeout");

  public static final String NAME = "iam";
  static final String BODY = "Action=GetCallerIdentity&Version=2011-06-15";
  static final String CHALLENGE_HEADER = "x-machine-identity-challenge";
  /** Headers a client may send, lower-case. Anything else is refused. */
  static final Set<String> ALLOWED_HEADERS = Set.of(
      "authorization",
      "x-amz-date",
      "x-amz-security-token",
      "x-amz-content-sha256",
      "content-type",
      "content-length",
      "host",
      "user-agent",
      "accept",
      CHALLENGE_HEADER);
  /** Headers java.net.http sets itself; checked, then not copied. */
  private static final Set<String> NOT_FORWARDED = Set.of("host", "content-length");

  private static final Pattern AUTHORIZATION = Pattern.compile(
      "AWS4-HMAC-SHA256 Credential=([^,\\s]+),\\s*SignedHeaders=([a-z0-9;-]+),\\s*Signature=([0-9a-f]{64})");
  private static final int MAX_REPLY = 64 * 1024;
  private static final Logger LOG = LoggerFactory.getLogger(IamVerifierProvider.class);

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JoinVerifier create(VerifierContext context) {
    VerifierSettings s = new VerifierSettings(context.settingsView(), SETTINGS);
    Set<String> allowed = StsEndpoints.defaultKeys();
    for (String extra : s.strings("additional_sts_endpoints")) {
      String key = StsEndpoints.endpointKey(extra);
      allowed.add(key);
      LOG.warn(
          "iam verifier: STS endpoint {} added by configuration (additional_sts_endpoints); joins may be verified by it. "
              + "Only test set-ups should need this",
          key);
    }
    List<X509Certificate> extraRoots = s.certificates("sts_ca_pem");
    if (!extraRoots.isEmpty()) {
      LOG.warn(
          "iam verifier: {} extra certificate(s) trusted for STS connections (sts_ca_pem)",
          extraRoots.size());
    }
    Duration timeout = s.duration("timeout", Duration.ofSeconds(10));
    HttpClient http = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .proxy(HttpClient.Builder.NO_PROXY)
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(timeout)
        .sslContext(sslContext(extraRoots))
        .build();
    return new Verifier(context, Set.copyOf(allowed), http, timeout);
  }

  private static SSLContext sslContext(List<X509Certificate> extra) {
    try {
      TrustManagerFactory jdk =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      jdk.init((KeyStore) null);
      if (extra.isEmpty()) {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, jdk.getTrustManagers(), null);
        return ctx;
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (TrustManager tm : jdk.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          for (X509Certificate c : x.getAcceptedIssuers()) {
            ks.setCertificateEntry("jdk-" + i++, c);
          }
        }
      }
      for (X509Certificate c : extra) {
        ks.setCertificateEntry("extra-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(ks);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot build the TLS context for STS: " + e.getMessage(), e);
    }
  }

  /** The verifier: stateless apart from its HTTP client. */
  static final class Verifier implements JoinVerifier {
    private final VerifierContext context;
    private final Set<String> allowed;
    private final HttpClient http;
    private final Duration timeout;

    Verifier(VerifierContext context, Set<String> allowed, HttpClient http, Duration timeout) {
      this.context = context;
      this.allowed = allowed;
      this.http = http;
      this.timeout = timeout;
    }

    @Override
    public String name() {
      return NAME;
    }

    @Override
    public boolean renewable() {
      return false;
    }

    @Override
    public VerifiedJoin verify(JoinAttempt attempt) {
      Token token = AwsRules.token(context.tokens(), attempt.token(), NAME, attempt.time());
      List<AwsRules.Rule> rules;
      try {
        rules = AwsRules.parse(NAME, token.rules());
      } catch (IllegalArgumentException e) {
        throw reject(
            "token_rules", "token '" + token.name() + "' has invalid rules: " + e.getMessage());
      }
      JsonNode proof = attempt.proof();
      if (proof.size() != 1 || !proof.path("sts_request").isObject()) {
        throw reject("proof_shape", "the iam proof must be exactly {\"sts_request\":{…}}");
      }
      JsonNode req = proof.get("sts_request");
      for (var it = req.fieldNames(); it.hasNext(); ) {
        String f = it.next();
        if (!Set.of("method", "url", "headers", "body").contains(f)) {
          throw reject(
              "proof_shape", "sts_request has an unknown field '" + AwsRules.printable(f) + "'");
        }
      }
      String method = text(req, "method");
      if (!"POST".equals(method)) {
        throw reject(
            "method", "sts_request method must be POST, got '" + AwsRules.printable(method) + "'");
      }
      URI url = StsEndpoints.check(text(req, "url"), allowed);
      String body = text(req, "body");
      if (!BODY.equals(body)) {
        throw reject(
            "action", "sts_request body must be exactly '" + BODY + "' (sts:GetCallerIdentity)");
      }
      Map<String, String> headers = headers(req.get("headers"));
      checkHost(headers, url);
      checkSignedChallenge(headers, attempt);

      StsReply reply = forward(url, headers);
      AwsRules.Rule matched = null;
      for (AwsRules.Rule r : rules) {
        if (r.account().equals(reply.account())
            && (r.arnGlob() == null || AwsRules.glob(r.arnGlob(), reply.arn()))) {
          matched = r;
          break;
        }
      }
      if (matched == null) {
        boolean accountKnown = rules.stream().anyMatch(r -> r.account().equals(reply.account()));
        throw reject(
            accountKnown ? "aws_arn" : "aws_account",
            "caller " + reply.arn() + " (account " + reply.account()
                + ") matches no allow rule of token '" + token.name() + "'");
      }
      Map<String, String> metadata = new LinkedHashMap<>();
      metadata.put("aws_account", reply.account());
      metadata.put("aws_arn", reply.arn());
      metadata.put("aws_user_id", reply.userId());
      metadata.put("sts_host", url.getHost());
      metadata.put("token_name", token.name());
      return new VerifiedJoin(token.bot(), token.id(), reply.arn(), metadata);
    }

    private static String text(JsonNode req, String field) {
      JsonNode n = req.get(field);
      if (n == null || !n.isTextual()) {
        throw reject("proof_shape", "sts_request." + field + " must be a string");
      }
      return n.asText();
    }

    private static Map<String, String> headers(JsonNode node) {
      if (node == null || !node.isObject()) {
        throw reject("proof_shape", "sts_request.headers must be an object of strings");
      }
      Map<String, String> out = new HashMap<>();
      for (var it = node.fields(); it.hasNext(); ) {
        var e = it.next();
        String name = e.getKey().toLowerCase(Locale.ROOT);
        if (!ALLOWED_HEADERS.contains(name)) {
          throw reject(
              "headers",
              "header '" + AwsRules.printable(e.getKey()) + "' is not allowed in an sts_request");
        }
        if (!e.getValue().isTextual()
            || e.getValue().asText().chars().anyMatch(c -> c < 0x20 && c != '\t')) {
          throw reject("headers", "header '" + name + "' must be a single-line string");
        }
        if (out.put(name, e.getValue().asText()) != null) {
          throw reject("headers", "header '" + name + "' appears twice");
        }
      }
      return out;
    }

    private static void checkHost(Map<String, String> headers, URI url) {
      String host = headers.get("host");
      if (host != null && !host.equalsIgnoreCase(url.getRawAuthority())) {
        throw reject("headers", "Host header differs from the url's host");
      }
    }

    private static void checkSignedChallenge(Map<String, String> headers, JoinAttempt attempt) {
      String auth = headers.get("authorization");
      if (auth == null) {
        throw reject("signature", "sts_request carries no Authorization header");
      }
      Matcher m = AUTHORIZATION.matcher(auth.trim());
      if (!m.matches()) {
        throw reject("signature", "Authorization is not a single AWS4-HMAC-SHA256 signature");
      }
      List<String> signed = List.of(m.group(2).split(";"));
      String presented = headers.get(CHALLENGE_HEADER);
      if (presented == null) {
        throw reject("challenge_missing", "sts_request has no X-Machine-Identity-Challenge header");
      }
      if (!signed.contains(CHALLENGE_HEADER)) {
        throw reject(
            "challenge_unsigned", "X-Machine-Identity-Challenge is not among the SignedHeaders");
      }
      if (!signed.contains("host")) {
        throw reject("signature", "host is not among the SignedHeaders");
      }
      String expected = ChallengeId.of(attempt.challenge());
      if (!MessageDigest.isEqual(
          expected.getBytes(StandardCharsets.UTF_8),
          presented.trim().getBytes(StandardCharsets.UTF_8))) {
        throw reject(
            "challenge_mismatch",
            "X-Machine-Identity-Challenge does not match this join's challenge (a replayed or foreign proof)");
      }
    }

    private StsReply forward(URI url, Map<String, String> headers) {
      HttpRequest.Builder b = HttpRequest.newBuilder(url)
          .timeout(timeout)
          .POST(HttpRequest.BodyPublishers.ofString(BODY, StandardCharsets.UTF_8));
      headers.forEach((k, v) -> {
        if (!NOT_FORWARDED.contains(k)) {
          b.header(k, v);
        }
      });
      HttpResponse<InputStream> r;
      byte[] bytes;
      try {
        r = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
          bytes = in.readNBytes(MAX_REPLY + 1);
        }
      } catch (IOException e) {
        throw reject(
            "sts_unreachable", "forwarding to " + url.getRawAuthority() + " failed: " + e, e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw reject("sts_unreachable", "interrupted while waiting for STS");
      }
      int status = r.statusCode();
      if (status >= 300 && status < 400) {
        throw reject(
            "sts_redirect",
            "STS at " + url.getRawAuthority() + " answered a redirect (HTTP " + status
                + "); redirects are never followed");
      }
      if (status != 200) {
        throw reject(
            "sts_refused",
            "STS at " + url.getRawAuthority() + " refused the request (HTTP " + status + "): "
                + AwsRules.printable(
                    new String(bytes, 0, Math.min(bytes.length, 200), StandardCharsets.UTF_8)));
      }
      if (bytes.length > MAX_REPLY) {
        throw reject("sts_reply", "STS reply exceeds " + MAX_REPLY + " bytes");
      }
      return StsReply.parse(r.headers().firstValue("content-type").orElse(""), bytes);
    }
  }
}
