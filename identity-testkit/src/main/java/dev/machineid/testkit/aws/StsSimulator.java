package dev.machineid.testkit.aws;

import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.http.SimulatorServer;
import dev.machineid.testkit.http.SimulatorServer.Handler;
import dev.machineid.testkit.http.SimulatorServer.Request;
import dev.machineid.testkit.http.SimulatorServer.Response;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * A simulated AWS STS endpoint for tests: HTTPS on 127.0.0.1 with a certificate from a test CA,
 * answering {@code sts:GetCallerIdentity} for requests whose SigV4 signature verifies with one of its
 * test credentials. The verification follows the SigV4 specification (canonical request, string to
 * sign, derived signing key) and checks the credential scope's service ({@code sts}) and the request
 * time ({@code X-Amz-Date}, at most 15 minutes from the simulator's clock). Replies are XML, or JSON
 * for {@code Accept: application/json}, as STS's query API gives them. {@link #redirectTo(URI)} makes
 * it answer every request with a 307 instead, for redirect tests. Every request is recorded. It runs on the testkit's
 * {@link dev.machineid.testkit.http.SimulatorServer} (request bodies up to 64 KiB, a larger one gets
 * {@code 413}).
 *
 * <p>Configure the issuer's {@code iam} verifier with {@code additional_sts_endpoints:
 * [}{@link #hostPort()}{@code ]} and {@code sts_ca_pem: }{@link #caPem()}, and the client's
 * {@code iam} join with {@code sts_endpoint: }{@link #endpoint()}.
 *
 * <p>For EKS-style web identity (IRSA) it also answers the unsigned {@code
 * sts:AssumeRoleWithWebIdentity} for tokens registered with {@link #allowWebIdentity}, returning
 * temporary credentials that GetCallerIdentity then accepts. The AWS SDK's STS client can reach it at
 * {@link #httpEndpoint()} (plain HTTP on 127.0.0.1, so the SDK needs no test trust store), set through
 * the SDK's own endpoint configuration ({@code aws.endpointUrlSts} or {@code AWS_ENDPOINT_URL_STS}).
 */
public final class StsSimulator implements AutoCloseable {
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final Pattern AUTH = Pattern.compile(
      "AWS4-HMAC-SHA256 Credential=([^/,\\s]+)/([0-9]{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request,\\s*SignedHeaders=([a-z0-9;-]+),\\s*Signature=([0-9a-f]{64})");
  private static final Duration MAX_SKEW = Duration.ofMinutes(15);
  private static final int MAX_BODY = 64 * 1024;

  /** A test principal: credentials and what GetCallerIdentity says about them. */
  public record Principal(
      String accessKeyId,
      String secretAccessKey,
      String sessionToken,
      String account,
      String arn,
      String userId) {
    public Principal {
      Objects.requireNonNull(accessKeyId, "accessKeyId");
      Objects.requireNonNull(secretAccessKey, "secretAccessKey");
      Objects.requireNonNull(account, "account");
      Objects.requireNonNull(arn, "arn");
      Objects.requireNonNull(userId, "userId");
    }
  }

  /** One request as received, and whether the simulator accepted it. */
  public record Received(
      String method,
      String path,
      String query,
      Map<String, String> headers,
      String body,
      int status,
      String error) {}

  private final TestCertificateAuthority ca;
  private final SimulatorServer server;
  private final SimulatorServer plain;
  /** Web identity token → role ARN it may assume. */
  private final Map<String, String> webIdentities = new ConcurrentHashMap<>();

  private final Clock clock;
  private final Map<String, Principal> principals = new ConcurrentHashMap<>();
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  private StsSimulator(Clock clock) {
    this.clock = clock;
    this.ca = TestCertificateAuthority.create("machineid testkit STS CA");
    TestCertificateAuthority.Issued cert =
        ca.issueServerCertificate(List.of("127.0.0.1", "localhost"));
    this.server = SimulatorServer.builder("sts")
        .https(cert)
        .maxRequestBody(MAX_BODY)
        .fallback(this::handle)
        .start();
    this.plain = SimulatorServer.builder("sts")
        .maxRequestBody(MAX_BODY)
        .fallback(this::handle)
        .start();
  }

  /** A simulator on the system clock. */
  public static StsSimulator start() {
    return start(Clock.systemUTC());
  }

  /** A simulator whose date-skew check uses {@code clock}. */
  public static StsSimulator start(Clock clock) {
    try {
      return new StsSimulator(Objects.requireNonNull(clock, "clock"));
    } catch (UncheckedIOException e) {
      throw new IllegalStateException("cannot start the simulated STS: " + e.getMessage(), e);
    }
  }

  /** Adds a principal whose long-term keys GetCallerIdentity accepts. */
  public Principal addUser(String account, String arn) {
    return add(
        new Principal("AKIA" + random(16), random(40), null, account, arn, "AIDA" + random(17)));
  }

  /** Adds a principal with temporary credentials (a session token), as an assumed role has. */
  public Principal addRoleSession(String account, String roleName, String sessionName) {
    String arn = "arn:aws:sts::" + account + ":assumed-role/" + roleName + "/" + sessionName;
    return add(new Principal(
        "ASIA" + random(16),
        random(40),
        random(64),
        account,
        arn,
        "AROA" + random(17) + ":" + sessionName));
  }

  public Principal add(Principal p) {
    principals.put(p.accessKeyId(), p);
    return p;
  }

  /**
   * Lets {@code AssumeRoleWithWebIdentity} with {@code token} assume {@code roleArn}
   * ({@code arn:aws:iam::<account>:role/<name>}); each call returns fresh session credentials for
   * {@code arn:aws:sts::<account>:assumed-role/<name>/<RoleSessionName>}.
   */
  public void allowWebIdentity(String token, String roleArn) {
    if (!roleArn.matches("arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_-]+")) {
      throw new IllegalArgumentException(
          "roleArn must be arn:aws:iam::<account>:role/<name>, got " + roleArn);
    }
    webIdentities.put(Objects.requireNonNull(token, "token"), roleArn);
  }

  /** {@code http://127.0.0.1:<port>/}: the same simulator over plain HTTP, for the AWS SDK's own STS client. */
  public URI httpEndpoint() {
    return URI.create(plain.uri() + "/");
  }

  /** From now on, answers every request with {@code 307 Location: target} (or stops, for {@code null}). */
  public void redirectTo(URI target) {
    Handler redirect = target == null
        ? null
        : request -> {
          received.add(received(request, 307, "redirected"));
          return Response.empty(307).withHeader("Location", target.toString());
        };
    server.override(redirect);
    plain.override(redirect);
  }

  /** {@code https://127.0.0.1:<port>/}: the client's {@code sts_endpoint}. */
  public URI endpoint() {
    return URI.create("https://" + hostPort() + "/");
  }

  /** {@code 127.0.0.1:<port>}: an entry for the verifier's {@code additional_sts_endpoints}. */
  public String hostPort() {
    return "127.0.0.1:" + server.port();
  }

  /** The test CA of the simulator's TLS certificate, PEM: the verifier's {@code sts_ca_pem}. */
  public String caPem() {
    try (StringWriter out = new StringWriter();
        JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(ca.certificate());
      w.flush();
      return out.toString();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Requests received so far. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  private static Received received(Request request, int status, String error) {
    return new Received(
        request.method(),
        request.path(),
        request.rawQuery(),
        request.headers(),
        request.bodyText(),
        status,
        error);
  }

  private Response handle(Request request) {
    String method = request.method();
    String body = request.bodyText();
    if (method.equals("POST") && body.contains("Action=AssumeRoleWithWebIdentity")) {
      return assumeRoleWithWebIdentity(request);
    }
    Map<String, String> headers = request.headers();
    String error = check(method, request.path(), request.rawQuery(), headers, body);
    if (error != null) {
      received.add(received(request, 403, error));
      String code = error.startsWith("InvalidAction")
          ? "InvalidAction"
          : error.startsWith("RequestExpired")
              ? "RequestExpired"
              : error.startsWith("InvalidClientTokenId")
                  ? "InvalidClientTokenId"
                  : "SignatureDoesNotMatch";
      return reply(
          code.equals("InvalidAction") ? 400 : 403,
          "text/xml",
          "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>"
              + code + "</Code><Message>" + error.replace("<", "&lt;")
              + "</Message></Error><RequestId>" + UUID.randomUUID()
              + "</RequestId></ErrorResponse>");
    }
    Principal p = principals.get(accessKey(headers.get("authorization")));
    received.add(received(request, 200, null));
    if (headers.getOrDefault("accept", "").contains("application/json")) {
      return reply(
          200,
          "application/json",
          "{\"GetCallerIdentityResponse\":{\"GetCallerIdentityResult\":{\"Account\":\""
              + p.account() + "\",\"Arn\":\"" + p.arn() + "\",\"UserId\":\"" + p.userId()
              + "\"},\"ResponseMetadata\":{\"RequestId\":\"" + UUID.randomUUID() + "\"}}}");
    }
    return reply(
        200,
        "text/xml",
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <GetCallerIdentityResult>\n    <Arn>"
            + p.arn()
            + "</Arn>\n    <UserId>" + p.userId() + "</UserId>\n    <Account>" + p.account()
            + "</Account>\n  </GetCallerIdentityResult>\n"
            + "  <ResponseMetadata>\n    <RequestId>" + UUID.randomUUID()
            + "</RequestId>\n  </ResponseMetadata>\n</GetCallerIdentityResponse>\n");
  }

  private Response assumeRoleWithWebIdentity(Request request) {
    String body = request.bodyText();
    Map<String, String> form = new TreeMap<>();
    for (String pair : body.split("&")) {
      int eq = pair.indexOf('=');
      if (eq > 0) {
        form.put(
            URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    String role = form.get("RoleArn");
    String session = form.getOrDefault("RoleSessionName", "");
    String token = form.get("WebIdentityToken");
    String allowed = token == null ? null : webIdentities.get(token);
    if (allowed == null
        || !allowed.equals(role)
        || !session.matches("[A-Za-z0-9+=,.@_-]{2,64}")
        || !"2011-06-15".equals(form.get("Version"))) {
      received.add(received(request, 403, "AccessDenied: web identity"));
      return reply(
          403,
          "text/xml",
          "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code>"
              + "<Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error><RequestId>"
              + UUID.randomUUID() + "</RequestId></ErrorResponse>");
    }
    String account = role.substring("arn:aws:iam::".length(), "arn:aws:iam::".length() + 12);
    String roleName = role.substring(role.indexOf(":role/") + ":role/".length());
    Principal p = addRoleSession(account, roleName, session);
    received.add(received(request, 200, null));
    Instant expires = clock.instant().plus(Duration.ofHours(1));
    return reply(
        200,
        "text/xml",
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <AssumeRoleWithWebIdentityResult>\n"
            + "    <SubjectFromWebIdentityToken>system:serviceaccount:default:app</SubjectFromWebIdentityToken>\n"
            + "    <Audience>sts.amazonaws.com</Audience>\n"
            + "    <AssumedRoleUser>\n      <Arn>" + p.arn() + "</Arn>\n      <AssumedRoleId>"
            + p.userId() + "</AssumedRoleId>\n    </AssumedRoleUser>\n"
            + "    <Credentials>\n      <SessionToken>" + p.sessionToken()
            + "</SessionToken>\n      <SecretAccessKey>" + p.secretAccessKey()
            + "</SecretAccessKey>\n      <Expiration>"
            + expires.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
            + "</Expiration>\n      <AccessKeyId>"
            + p.accessKeyId()
            + "</AccessKeyId>\n    </Credentials>\n    <Provider>oidc.eks.us-east-1.amazonaws.com/id/TEST</Provider>\n"
            + "  </AssumeRoleWithWebIdentityResult>\n  <ResponseMetadata>\n    <RequestId>"
            + UUID.randomUUID() + "</RequestId>\n  </ResponseMetadata>\n"
            + "</AssumeRoleWithWebIdentityResponse>\n");
  }

  private static String accessKey(String authorization) {
    Matcher m = AUTH.matcher(authorization == null ? "" : authorization.trim());
    return m.matches() ? m.group(1) : "";
  }

  /** SigV4 verification; returns the reason for refusing, or {@code null}. */
  private String check(
      String method, String path, String query, Map<String, String> headers, String body) {
    Matcher m = AUTH.matcher(headers.getOrDefault("authorization", "").trim());
    if (!m.matches()) {
      return "IncompleteSignature: no AWS4-HMAC-SHA256 Authorization header";
    }
    Principal p = principals.get(m.group(1));
    if (p == null) {
      return "InvalidClientTokenId: unknown access key";
    }
    String date = m.group(2);
    String region = m.group(3);
    String service = m.group(4);
    List<String> signed = List.of(m.group(5).split(";"));
    if (!service.equals("sts")) {
      return "SignatureDoesNotMatch: credential scope is for service " + service;
    }
    String amzDate = headers.get("x-amz-date");
    if (amzDate == null || !signed.contains("x-amz-date") || !signed.contains("host")) {
      return "SignatureDoesNotMatch: host and x-amz-date must be signed";
    }
    Instant t;
    try {
      t = Instant.from(AMZ_DATE.parse(amzDate));
    } catch (DateTimeParseException e) {
      return "SignatureDoesNotMatch: bad X-Amz-Date";
    }
    if (Duration.between(t, clock.instant()).abs().compareTo(MAX_SKEW) > 0) {
      return "RequestExpired: request time " + amzDate
          + " is more than 15 minutes from the server time";
    }
    if (!amzDate.startsWith(date)) {
      return "SignatureDoesNotMatch: credential scope date differs from X-Amz-Date";
    }
    if (p.sessionToken() != null && !p.sessionToken().equals(headers.get("x-amz-security-token"))) {
      return "InvalidClientTokenId: the security token is invalid";
    }
    StringBuilder canonical = new StringBuilder();
    canonical
        .append(method)
        .append('\n')
        .append(path == null || path.isEmpty() ? "/" : path)
        .append('\n')
        .append(canonicalQuery(query))
        .append('\n');
    for (String h : signed) {
      String v = headers.get(h);
      if (v == null) {
        return "SignatureDoesNotMatch: signed header " + h + " is missing";
      }
      canonical.append(h).append(':').append(v.trim().replaceAll(" +", " ")).append('\n');
    }
    canonical
        .append('\n')
        .append(String.join(";", signed))
        .append('\n')
        .append(hex(sha256(body.getBytes(StandardCharsets.UTF_8))));
    String scope = date + "/" + region + "/" + service + "/aws4_request";
    String toSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n"
        + hex(sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)));
    byte[] k = hmac(("AWS4" + p.secretAccessKey()).getBytes(StandardCharsets.UTF_8), date);
    k = hmac(k, region);
    k = hmac(k, service);
    k = hmac(k, "aws4_request");
    String expected = hex(hmac(k, toSign));
    if (!MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.US_ASCII),
        m.group(6).getBytes(StandardCharsets.US_ASCII))) {
      return "SignatureDoesNotMatch: the request signature we calculated does not match the signature you provided";
    }
    if (!method.equals("POST") && !method.equals("GET")) {
      return "InvalidAction: method " + method;
    }
    String params = method.equals("GET") ? (query == null ? "" : query) : body;
    if (!params.contains("Action=GetCallerIdentity")) {
      return "InvalidAction: only GetCallerIdentity is simulated";
    }
    return null;
  }

  private static String canonicalQuery(String query) {
    if (query == null || query.isEmpty()) {
      return "";
    }
    List<String> parts = new ArrayList<>(List.of(query.split("&")));
    parts.sort(null);
    return String.join("&", parts);
  }

  private static byte[] sha256(byte[] in) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(in);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static String random(int n) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    java.security.SecureRandom r = new java.security.SecureRandom();
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private static Response reply(int status, String type, String body) {
    return Response.text(status, type, body)
        .withHeader("x-amzn-RequestId", UUID.randomUUID().toString());
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    server.close();
    plain.close();
    ca.close();
  }
}
