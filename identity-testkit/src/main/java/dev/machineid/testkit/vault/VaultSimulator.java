package dev.machineid.testkit.vault;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.http.SimulatorServer;
import dev.machineid.testkit.http.SimulatorServer.ClientAuth;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.PKIXReason;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;

/**
 * A simulated HashiCorp Vault for tests: the parts of the TLS certificate auth method and the token
 * store that a client uses, over HTTPS on {@code 127.0.0.1}.
 *
 * <pre>{@code
 * try (VaultSimulator vault = VaultSimulator.builder()
 *         .trustedCAs(() -> identity.current().trustBundle())
 *         .role(CertRole.builder("orders").allowedUriSans("spiffe://example.org/bot/*")
 *             .policies("orders-read").tokenTtl(Duration.ofMinutes(20)).build())
 *         .start();
 *      VaultCertLogin login = VaultCertLogin.builder(vault.address())
 *         .keyManager(identity.keyManager()).vaultTrust(vault.trustManager()).role("orders").build()) {
 *   login.token();
 *   assertThat(vault.successfulLogins()).extracting(VaultSimulator.Login::serialHex)
 *       .containsExactly(identity.current().serialHex());
 * }
 * }</pre>
 *
 * <h2>Endpoints</h2>
 * <ul>
 *   <li>{@code POST|PUT /v1/auth/<mount>/login} (mount {@code cert} unless
 *       {@link Builder#mount(String) mount} says otherwise), body {@code {}} or
 *       {@code {"name":"<role>"}}. As Vault does: the client certificate chain sent in the TLS
 *       handshake is verified (PKIX, at the simulator's clock, {@code clientAuth} usage) against the
 *       CA certificates that the {@link Builder#trustedCAs trustedCAs} supplier returns <em>at that
 *       login</em>; then the named role, or without a name every role in name order, is checked
 *       for {@code allowed_common_names} (CN, DNS and e-mail SANs) and {@code allowed_uri_sans}
 *       (Vault's {@code *} globs) and the first match issues a service token
 *       ({@code hvs.…}, policies {@code default} plus the role's, lease = the role's
 *       {@code token_ttl}). The answer has Vault's shape:
 *       {@code {"request_id":…,"auth":{"client_token":…,"accessor":…,"policies":[…],
 *       "token_policies":[…],"metadata":{"cert_name":…,"common_name":…,"serial_number":…,…},
 *       "lease_duration":<s>,"renewable":true,…}}}.</li>
 *   <li>{@code GET /v1/auth/token/lookup-self} with {@code X-Vault-Token} (or
 *       {@code Authorization: Bearer}): {@code 200 {"data":{"ttl":<s left>,"policies":[…],
 *       "meta":{…},"display_name":"cert-<role>",…}}} for a live token.</li>
 *   <li>Anything else: {@code 404 {"errors":[]}}.</li>
 * </ul>
 *
 * <h2>Errors, with Vault's texts</h2>
 * <ul>
 *   <li>No client certificate: {@code 400 {"errors":["client certificate must be supplied"]}}.</li>
 *   <li>A chain no trusted CA issued, or an unknown role name:
 *       {@code 400 {"errors":["invalid certificate or no client certificate supplied"]}}.</li>
 *   <li>A chain from a trusted CA that fails verification otherwise (expired, wrong key usage):
 *       {@code 500 {"errors":["failed to verify client's certificate: …"]}}.</li>
 *   <li>A valid certificate no role allows: {@code 400 {"errors":["no chain matching all
 *       constraints could be found for this login certificate"]}}.</li>
 *   <li>An unknown, missing or expired token: {@code 403 {"errors":["permission denied"]}}.</li>
 * </ul>
 *
 * <h2>TLS</h2>
 * Like a Vault listener, the server <em>requests</em> a client certificate but lets the handshake
 * complete without one, and verifies it in the auth method (so errors come back as JSON). With
 * {@link Builder#requireClientCertificate()} it behaves like a listener with
 * {@code tls_require_and_verify_client_cert = true}: the handshake itself fails unless the client
 * presents a chain that the trusted CAs, read at that handshake, validate. The server certificate
 * comes from the simulator's own {@link TestCertificateAuthority} (SANs {@code 127.0.0.1} and
 * {@code localhost}); trust it with {@link #trustManager()} or {@link #caPem()}. It runs on the testkit's
 * {@link dev.machineid.testkit.http.SimulatorServer}: HTTP/1.1 with keep-alive, request bodies up to
 * 1 MiB (a larger one gets {@code 413}), requests on daemon threads named
 * {@code machineid-testkit-vault-<n>}.
 *
 * <p>Every login attempt is recorded ({@link #logins()}) with the client certificate's serial and
 * the time from the simulator's clock; tokens are never recorded, only their accessors. Token
 * expiry follows the injected {@link Clock}, so a test can expire a token by advancing a
 * {@code MutableClock}. {@link #close()} is idempotent and closes every connection.
 */
public final class VaultSimulator implements AutoCloseable {
  /** Vault's message when the chain does not lead to a trusted CA, or the role does not exist. */
  public static final String INVALID_CERTIFICATE =
      "invalid certificate or no client certificate supplied";
  /** Vault's message when the chain is trusted but no role's constraints allow the certificate. */
  public static final String NO_MATCHING_ROLE =
      "no chain matching all constraints could be found for this login certificate";
  /** Vault's message when the TLS connection carried no client certificate. */
  public static final String NO_CERTIFICATE = "client certificate must be supplied";
  /** Vault's message for a missing, unknown or expired token. */
  public static final String PERMISSION_DENIED = "permission denied";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_BODY = 1024 * 1024;
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final String ANY_EKU = "2.5.29.37.0";
  private static final char[] BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

  /**
   * One login attempt.
   *
   * @param at when it happened, by the simulator's clock
   * @param status the HTTP status answered (200 on success)
   * @param role the role that issued the token, or the role asked for ({@code ""} for none) on failure
   * @param serialHex the client certificate's serial, lower-case hex, or {@code null} without one
   * @param commonName the client certificate's subject CN, or {@code null}
   * @param errors Vault's {@code errors} on failure, empty on success
   * @param accessor the issued token's accessor (never the token), or {@code null} on failure
   */
  public record Login(
      Instant at,
      int status,
      String role,
      String serialHex,
      String commonName,
      List<String> errors,
      String accessor) {
    public Login {
      errors = List.copyOf(errors);
    }

    public boolean succeeded() {
      return status == 200;
    }
  }

  private record Token(
      String id,
      String accessor,
      CertRole role,
      List<String> policies,
      Map<String, String> meta,
      Instant issued,
      Instant expires) {
    @Override
    public String toString() {
      return "Token{accessor=" + accessor + ", role=" + role.name() + ", expires=" + expires + "}";
    }
  }

  private record Response(int status, ObjectNode body) {}

  private final TestCertificateAuthority ca;
  private final SimulatorServer server;
  private final Clock clock;
  private final String mount;
  private final Supplier<List<X509Certificate>> trustedCAs;
  private final Map<String, CertRole> roles = new ConcurrentSkipListMap<>();
  private final Map<String, Token> tokens = new ConcurrentHashMap<>();
  private final List<Login> logins = new CopyOnWriteArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final SecureRandom random = new SecureRandom();

  private VaultSimulator(Builder b) {
    this.clock = b.clock;
    this.mount = b.mount;
    this.trustedCAs = b.trustedCAs;
    b.roles.forEach(r -> roles.put(r.name(), r));
    this.ca = TestCertificateAuthority.create("machineid testkit Vault CA");
    TestCertificateAuthority.Issued cert =
        ca.issueServerCertificate(List.of("127.0.0.1", "localhost"));
    this.server = SimulatorServer.builder("vault")
        .https(cert)
        .clientCertificates(
            b.requireClientCertificate ? ClientAuth.NEED : ClientAuth.WANT,
            new ClientTrust(trustedCAs, b.requireClientCertificate))
        .maxRequestBody(MAX_BODY)
        .route(
            Set.of("POST", "PUT"),
            "/v1/auth/" + mount + "/login",
            r -> http(login(r.body(), r.peerCertificates())))
        .route(
            Set.of("GET", "POST"), "/v1/auth/token/lookup-self", r -> http(lookupSelf(r.headers())))
        .methodNotAllowed(r -> http(error(405, "unsupported operation")))
        .fallback(r -> {
          ObjectNode body = JSON.createObjectNode();
          body.putArray("errors");
          return http(new Response(404, body));
        })
        .onError(e -> http(error(500, "internal error: " + e)))
        .start();
  }

  /** A builder; {@link Builder#trustedCAs} is required. */
  public static Builder builder() {
    return new Builder();
  }

  /** {@code https://127.0.0.1:<port>}: the {@code VAULT_ADDR}. */
  public URI address() {
    return server.uri();
  }

  public int port() {
    return server.port();
  }

  /** Trusts the simulator's server certificate (and nothing else); checks host names when asked to. */
  public X509ExtendedTrustManager trustManager() {
    return ca.trustManager();
  }

  /** The CA that issued the simulator's server certificate. */
  public X509Certificate caCertificate() {
    return ca.certificate();
  }

  /** {@link #caCertificate()} as PEM: the {@code VAULT_CACERT}. */
  public String caPem() {
    try (StringWriter out = new StringWriter();
        JcaPEMWriter w = new JcaPEMWriter(out)) {
      w.writeObject(ca.certificate());
      w.flush();
      return out.toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Adds or replaces a role while the simulator runs ({@code vault write auth/cert/certs/<name>}). */
  public void putRole(CertRole role) {
    Objects.requireNonNull(role, "role");
    roles.put(role.name(), role);
  }

  /** Deletes a role; tokens it issued stay valid, as in Vault. */
  public void removeRole(String name) {
    roles.remove(Objects.requireNonNull(name, "name"));
  }

  /** Every login attempt so far, oldest first. */
  public List<Login> logins() {
    return List.copyOf(logins);
  }

  /** The logins that issued a token, oldest first. */
  public List<Login> successfulLogins() {
    return logins.stream().filter(Login::succeeded).collect(Collectors.toUnmodifiableList());
  }

  /** Whether {@code token} was issued here and has not expired by the simulator's clock. */
  public boolean isValid(String token) {
    return live(token).isPresent();
  }

  /** Makes every token issued so far invalid, as {@code vault token revoke} would. */
  public void revokeAllTokens() {
    tokens.clear();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    server.close();
    ca.close();
  }

  @Override
  public String toString() {
    return "VaultSimulator[" + server.uri() + ", mount " + mount
        + (closed.get() ? ", closed]" : "]");
  }

  // ---- HTTP ----

  private static SimulatorServer.Response http(Response response) {
    try {
      return SimulatorServer.Response.json(
              response.status(), JSON.writeValueAsString(response.body()) + "\n")
          .withHeader("Cache-Control", "no-store");
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a JSON answer", e);
    }
  }

  // ---- auth/cert/login ----

  private Response login(byte[] body, List<X509Certificate> peer) {
    Instant now = clock.instant();
    X509Certificate leaf = peer.isEmpty() ? null : peer.get(0);
    String serial = leaf == null ? null : leaf.getSerialNumber().toString(16);
    String cn = leaf == null ? null : commonName(leaf);
    String name;
    try {
      JsonNode json = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
      if (json == null || !json.isObject()) {
        throw new IOException("the body is not a JSON object");
      }
      name = json.path("name").asText("");
    } catch (IOException e) {
      return failed(now, 400, "", serial, cn, "failed to parse JSON input: " + e.getMessage());
    }
    if (leaf == null) {
      return failed(now, 400, name, null, null, NO_CERTIFICATE);
    }
    List<CertRole> candidates = new ArrayList<>();
    if (name.isEmpty()) {
      candidates.addAll(roles.values());
    } else {
      Optional.ofNullable(roles.get(name)).ifPresent(candidates::add);
    }
    List<X509Certificate> anchors;
    try {
      anchors = candidates.isEmpty() ? List.of() : List.copyOf(trustedCAs.get());
    } catch (RuntimeException e) {
      return failed(now, 500, name, serial, cn, "cannot load the trusted certificates: " + e);
    }
    String verifyError = verify(peer, anchors, now);
    if (verifyError != null) {
      return verifyError.equals(INVALID_CERTIFICATE)
          ? failed(now, 400, name, serial, cn, INVALID_CERTIFICATE)
          : failed(
              now, 500, name, serial, cn, "failed to verify client's certificate: " + verifyError);
    }
    for (CertRole role : candidates) {
      if (matchesNames(leaf, role) && matchesUriSans(leaf, role)) {
        return issue(now, role, leaf, cn, serial);
      }
    }
    return failed(now, 400, name, serial, cn, NO_MATCHING_ROLE);
  }

  private Response issue(
      Instant now, CertRole role, X509Certificate leaf, String cn, String serial) {
    Set<String> policies = new TreeSet<>(role.policies());
    policies.add("default");
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("authority_key_id", keyId(leaf, true));
    meta.put("cert_name", role.name());
    meta.put("common_name", cn == null ? "" : cn);
    meta.put("serial_number", leaf.getSerialNumber().toString());
    meta.put("subject_key_id", keyId(leaf, false));
    Token token = new Token(
        "hvs." + random(24),
        random(24),
        role,
        List.copyOf(policies),
        Map.copyOf(meta),
        now,
        now.plus(role.tokenTtl()));
    tokens.put(token.id(), token);
    logins.add(new Login(now, 200, role.name(), serial, cn, List.of(), token.accessor()));

    ObjectNode body = envelope();
    ObjectNode auth = body.putObject("auth");
    auth.put("client_token", token.id());
    auth.put("accessor", token.accessor());
    strings(auth.putArray("policies"), token.policies());
    strings(auth.putArray("token_policies"), token.policies());
    ObjectNode metadata = auth.putObject("metadata");
    meta.forEach(metadata::put);
    auth.put("lease_duration", role.tokenTtl().toSeconds());
    auth.put("renewable", true);
    auth.put("entity_id", UUID.randomUUID().toString());
    auth.put("token_type", "service");
    auth.put("orphan", true);
    auth.putNull("mfa_requirement");
    auth.put("num_uses", 0);
    body.put("mount_type", "");
    return new Response(200, body);
  }

  private Response failed(
      Instant now, int status, String role, String serial, String cn, String message) {
    logins.add(new Login(now, status, role, serial, cn, List.of(message), null));
    return error(status, message);
  }

  /** {@code null} if the chain verifies, {@link #INVALID_CERTIFICATE} for an unknown authority, else why not. */
  private static String verify(
      List<X509Certificate> peer, List<X509Certificate> anchors, Instant now) {
    if (anchors.isEmpty()) {
      return INVALID_CERTIFICATE;
    }
    X509Certificate leaf = peer.get(0);
    List<X509Certificate> path = new ArrayList<>();
    for (X509Certificate c : peer) {
      if (anchors.contains(c)) {
        break; // the rest of the sent chain is trusted already
      }
      path.add(c);
    }
    try {
      if (path.isEmpty()) {
        leaf.checkValidity(
            Date.from(now)); // the leaf itself is trusted, as Vault allows for non-CA certificates
      } else {
        Set<TrustAnchor> trust =
            anchors.stream().map(a -> new TrustAnchor(a, null)).collect(Collectors.toSet());
        PKIXParameters parameters = new PKIXParameters(trust);
        parameters.setRevocationEnabled(false);
        parameters.setDate(Date.from(now));
        CertPathValidator.getInstance("PKIX")
            .validate(CertificateFactory.getInstance("X.509").generateCertPath(path), parameters);
      }
      List<String> eku = leaf.getExtendedKeyUsage();
      if (eku != null && !eku.contains(CLIENT_AUTH) && !eku.contains(ANY_EKU)) {
        return "x509: certificate specifies an incompatible key usage";
      }
      return null;
    } catch (CertPathValidatorException e) {
      return e.getReason() == PKIXReason.NO_TRUST_ANCHOR ? INVALID_CERTIFICATE : e.getMessage();
    } catch (InvalidAlgorithmParameterException e) {
      return INVALID_CERTIFICATE;
    } catch (GeneralSecurityException e) {
      return e.getMessage();
    }
  }

  private static boolean matchesNames(X509Certificate leaf, CertRole role) {
    if (role.allowedCommonNames().isEmpty()) {
      return true;
    }
    List<String> names = new ArrayList<>();
    String cn = commonName(leaf);
    if (cn != null) {
      names.add(cn);
    }
    names.addAll(sans(leaf, 2)); // dNSName
    names.addAll(sans(leaf, 1)); // rfc822Name
    return role.allowedCommonNames().stream()
        .anyMatch(g -> names.stream().anyMatch(n -> glob(g, n)));
  }

  private static boolean matchesUriSans(X509Certificate leaf, CertRole role) {
    if (role.allowedUriSans().isEmpty()) {
      return true;
    }
    List<String> uris = sans(leaf, 6);
    return role.allowedUriSans().stream().anyMatch(g -> uris.stream().anyMatch(u -> glob(g, u)));
  }

  /** Vault's (ryanuber/go-glob) matching: {@code *} stands for any run of characters, nothing else is special. */
  static boolean glob(String pattern, String value) {
    String regex = java.util.Arrays.stream(pattern.split("\\*", -1))
        .map(Pattern::quote)
        .collect(Collectors.joining(".*"));
    return Pattern.compile(regex, Pattern.DOTALL).matcher(value).matches();
  }

  // ---- auth/token/lookup-self ----

  private Response lookupSelf(Map<String, String> headers) {
    String id = headers.get("x-vault-token");
    String authorization = headers.get("authorization");
    if (id == null
        && authorization != null
        && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      id = authorization.substring(7).trim();
    }
    Optional<Token> found = live(id);
    if (found.isEmpty()) {
      return error(403, PERMISSION_DENIED);
    }
    Token t = found.get();
    Instant now = clock.instant();
    ObjectNode body = envelope();
    ObjectNode data = body.putObject("data");
    data.put("accessor", t.accessor());
    data.put("creation_time", t.issued().getEpochSecond());
    data.put("creation_ttl", t.role().tokenTtl().toSeconds());
    data.put("display_name", "cert-" + t.role().name());
    data.put("entity_id", "");
    data.put("expire_time", t.expires().toString());
    data.put("explicit_max_ttl", 0);
    data.put("id", t.id());
    data.put("issue_time", t.issued().toString());
    ObjectNode meta = data.putObject("meta");
    t.meta().forEach(meta::put);
    data.put("num_uses", 0);
    data.put("orphan", true);
    data.put("path", "auth/" + mount + "/login");
    strings(data.putArray("policies"), t.policies());
    data.put("renewable", true);
    data.put("ttl", Math.max(0, Duration.between(now, t.expires()).toSeconds()));
    data.put("type", "service");
    body.putNull("auth");
    return new Response(200, body);
  }

  private Optional<Token> live(String id) {
    if (id == null || id.isEmpty()) {
      return Optional.empty();
    }
    Token t = tokens.get(id);
    if (t == null) {
      return Optional.empty();
    }
    if (!clock.instant().isBefore(t.expires())) {
      tokens.remove(id, t); // Vault revokes a token when its lease ends
      return Optional.empty();
    }
    return Optional.of(t);
  }

  // ---- helpers ----

  private static ObjectNode envelope() {
    ObjectNode body = JSON.createObjectNode();
    body.put("request_id", UUID.randomUUID().toString());
    body.put("lease_id", "");
    body.put("renewable", false);
    body.put("lease_duration", 0);
    body.putNull("data");
    body.putNull("wrap_info");
    body.putNull("warnings");
    return body;
  }

  private static Response error(int status, String message) {
    ObjectNode body = JSON.createObjectNode();
    body.putArray("errors").add(message);
    return new Response(status, body);
  }

  private static void strings(ArrayNode array, Collection<String> values) {
    values.forEach(array::add);
  }

  private String random(int length) {
    StringBuilder s = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      s.append(BASE62[random.nextInt(BASE62.length)]);
    }
    return s.toString();
  }

  static String commonName(X509Certificate certificate) {
    RDN[] rdns = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded())
        .getRDNs(BCStyle.CN);
    return rdns.length == 0 ? null : IETFUtils.valueToString(rdns[0].getFirst().getValue());
  }

  private static List<String> sans(X509Certificate certificate, int type) {
    try {
      Collection<List<?>> all = certificate.getSubjectAlternativeNames();
      if (all == null) {
        return List.of();
      }
      List<String> out = new ArrayList<>();
      for (List<?> san : all) {
        if (san.size() >= 2
            && Integer.valueOf(type).equals(san.get(0))
            && san.get(1) instanceof String s) {
          out.add(s);
        }
      }
      return out;
    } catch (CertificateException e) {
      return List.of();
    }
  }

  /** A key identifier as Vault prints it: lower-case hex bytes joined by colons, or {@code ""}. */
  private static String keyId(X509Certificate certificate, boolean authority) {
    byte[] extension = certificate.getExtensionValue(
        (authority ? Extension.authorityKeyIdentifier : Extension.subjectKeyIdentifier).getId());
    if (extension == null) {
      return "";
    }
    byte[] inner = ASN1OctetString.getInstance(extension).getOctets();
    byte[] id = authority
        ? AuthorityKeyIdentifier.getInstance(inner).getKeyIdentifier()
        : ASN1OctetString.getInstance(inner).getOctets();
    return id == null ? "" : HexFormat.ofDelimiter(":").formatHex(id);
  }

  /**
   * The TLS layer's view of client certificates: by default accepts any chain (the auth method
   * verifies it, as Vault does) and names no acceptable issuers; with
   * {@code requireClientCertificate()} validates against the trusted CAs read at each handshake.
   */
  private static final class ClientTrust extends X509ExtendedTrustManager {
    private final Supplier<List<X509Certificate>> source;
    private final boolean verify;

    ClientTrust(Supplier<List<X509Certificate>> source, boolean verify) {
      this.source = source;
      this.verify = verify;
    }

    private void check(X509Certificate[] chain, String authType) throws CertificateException {
      if (!verify) {
        return;
      }
      List<X509Certificate> anchors;
      try {
        anchors = source.get();
      } catch (RuntimeException e) {
        throw new CertificateException("the trustedCAs supplier failed: " + e, e);
      }
      if (anchors == null || anchors.isEmpty()) {
        throw new CertificateException("no trusted CA certificates, so no client is trusted");
      }
      try {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        int i = 0;
        for (X509Certificate anchor : new LinkedHashSet<>(anchors)) {
          store.setCertificateEntry("ca-" + i++, anchor);
        }
        TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
        factory.init(store);
        for (TrustManager tm : factory.getTrustManagers()) {
          if (tm instanceof X509ExtendedTrustManager x) {
            x.checkClientTrusted(chain, authType);
            return;
          }
        }
        throw new CertificateException("no PKIX trust manager available");
      } catch (IOException | GeneralSecurityException e) {
        if (e instanceof CertificateException ce) {
          throw ce;
        }
        throw new CertificateException("cannot build the client trust: " + e, e);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      throw new CertificateException("only validates client certificates");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("only validates client certificates");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      throw new CertificateException("only validates client certificates");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      if (!verify) {
        return new X509Certificate[0];
      }
      try {
        List<X509Certificate> anchors = source.get();
        return anchors == null ? new X509Certificate[0] : anchors.toArray(new X509Certificate[0]);
      } catch (RuntimeException e) {
        return new X509Certificate[0];
      }
    }
  }

  /** Configures a {@link VaultSimulator}; single-valued settings may be given once. */
  public static final class Builder {
    private Supplier<List<X509Certificate>> trustedCAs;
    private final List<CertRole> roles = new ArrayList<>();
    private String mount;
    private Clock clock;
    private boolean requireClientCertificate;

    private Builder() {}

    /**
     * Where the CA certificates trusted for logins come from (the roles' {@code certificate}),
     * read at every login, e.g. {@code () -> identity.current().trustBundle()}.
     */
    public Builder trustedCAs(Supplier<List<X509Certificate>> trustedCAs) {
      Objects.requireNonNull(trustedCAs, "trustedCAs");
      if (this.trustedCAs != null) {
        throw new IllegalStateException("trustedCAs is already set");
      }
      this.trustedCAs = trustedCAs;
      return this;
    }

    /** Adds a cert role; call once per role. */
    public Builder role(CertRole role) {
      Objects.requireNonNull(role, "role");
      if (roles.stream().anyMatch(r -> r.name().equals(role.name()))) {
        throw new IllegalStateException("a role named '" + role.name() + "' is already added");
      }
      roles.add(role);
      return this;
    }

    /** The auth mount path; default {@code cert}. */
    public Builder mount(String mount) {
      Objects.requireNonNull(mount, "mount");
      if (this.mount != null) {
        throw new IllegalStateException("mount is already set");
      }
      if (mount.isBlank() || mount.startsWith("/") || mount.endsWith("/")) {
        throw new IllegalArgumentException(
            "mount must be a path like 'cert' or 'bots/cert', got '" + mount + "'");
      }
      this.mount = mount;
      return this;
    }

    /** The clock for token expiry and login times; the system UTC clock by default. */
    public Builder clock(Clock clock) {
      Objects.requireNonNull(clock, "clock");
      if (this.clock != null) {
        throw new IllegalStateException("clock is already set");
      }
      this.clock = clock;
      return this;
    }

    /**
     * Fails the TLS handshake unless the client presents a certificate that the trusted CAs,
     * read at that handshake, validate; like a listener with
     * {@code tls_require_and_verify_client_cert = true} and {@code tls_client_ca_file}.
     */
    public Builder requireClientCertificate() {
      if (requireClientCertificate) {
        throw new IllegalStateException("requireClientCertificate is already set");
      }
      requireClientCertificate = true;
      return this;
    }

    /**
     * Binds an ephemeral port on {@code 127.0.0.1} and starts serving.
     *
     * @throws IllegalStateException if {@link #trustedCAs} is not set
     * @throws UncheckedIOException if the port cannot be bound
     */
    public VaultSimulator start() {
      if (trustedCAs == null) {
        throw new IllegalStateException(
            "trustedCAs is not set: give it e.g. () -> identity.current().trustBundle()");
      }
      if (mount == null) {
        mount = "cert";
      }
      if (clock == null) {
        clock = Clock.systemUTC();
      }
      try {
        return new VaultSimulator(this);
      } catch (UncheckedIOException e) {
        throw new UncheckedIOException(
            "cannot start the Vault simulator: " + e.getMessage(), e.getCause());
      } catch (IllegalStateException e) {
        throw new IllegalStateException("cannot start the Vault simulator: " + e.getMessage(), e);
      }
    }
  }
}
