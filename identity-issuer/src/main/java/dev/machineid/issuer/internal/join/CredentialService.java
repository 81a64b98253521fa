package dev.machineid.issuer.internal.join;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.protocol.CertificatesRequest;
import dev.machineid.core.protocol.CertificatesResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.Json;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.CredentialMarks;
import dev.machineid.issuer.internal.authority.Keys;
import dev.machineid.issuer.internal.authority.PurposeAuthorities;
import dev.machineid.issuer.internal.authority.PurposeAuthorities.Purpose;
import dev.machineid.issuer.internal.authority.SshAuthorities;
import dev.machineid.issuer.internal.http.Requests;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/certificates}: role-scoped credentials for an authenticated bot, authorised from
 * the store at request time (the bot's roles, their allow lists with trait templates expanded) and
 * signed by the authority of the credential's purpose.
 */
public final class CredentialService {
  private static final Logger LOG = LoggerFactory.getLogger(CredentialService.class);
  /** No role-scoped credential lives longer than this (docs/architecture.md §5, §11.2). */
  public static final Duration MAX_TTL = Duration.ofHours(1);

  private static final Pattern TEMPLATE =
      Pattern.compile("\\{\\{\\s*internal\\.([a-z_]+)\\s*\\}\\}");

  private final IdentityDecisions engine;
  private final PurposeAuthorities authorities;
  private final SshAuthorities ssh;
  private final String jwtKeyId;

  public CredentialService(
      IdentityDecisions engine, PurposeAuthorities authorities, SshAuthorities ssh) {
    this.engine = engine;
    this.authorities = authorities;
    this.ssh = ssh;
    this.jwtKeyId = keyId(authorities);
  }

  /**
   * The JWKS published in the authority document (the JWT-SVID key of {@code authorities}): known
   * before the service is built, since the trust bundle the service's engine serves contains it.
   */
  public static JsonNode jwks(PurposeAuthorities authorities) {
    ECKey jwk = new ECKey.Builder(
            Curve.P_256, (ECPublicKey) authorities.jwtKey().getPublic())
        .keyID(keyId(authorities))
        .keyUse(KeyUse.SIGNATURE)
        .algorithm(JWSAlgorithm.ES256)
        .build();
    return Protocol.toTree(new JWKSet(jwk).toJSONObject(true));
  }

  /** The JWT-SVID key's {@code kid}: the first 16 base64url characters of its SHA-256. */
  private static String keyId(PurposeAuthorities authorities) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(Hashes.sha256(authorities.jwtKey().getPublic().getEncoded()))
        .substring(0, 16);
  }

  public CertificatesResponse issue(ObjectNode body, String remote, X509Certificate[] peer) {
    Map<String, String> detail = new LinkedHashMap<>();
    detail.put("remote_address", remote);
    Instant now = engine.clock().instant();
    IdentityDecisions.Caller caller = null;
    String kind = null;
    try {
      caller = engine.authorise(peer, now, detail);
      // only the instance's current bot certificate may request credentials
      engine.requireCurrent(caller, now, remote);
      CertificatesRequest request = Requests.read(body, CertificatesRequest.class);
      kind = request.kind();
      detail.put("kind", IdentityDecisions.printable(kind));
      List<String> roleNames = stringList(request.roles(), "roles");
      ObjectNode target =
          request.target() instanceof ObjectNode o ? o : Protocol.nodes().objectNode();
      Bot bot = caller.botRecord();
      List<Role> roles = roles(bot, roleNames, kind);
      detail.put("roles", String.join(",", roleNames));
      Duration ttl = ttl(request, roles, caller.certificate(), now);
      detail.put("ttl", ttl.toString());
      CertificatesResponse answer =
          switch (kind) {
            case "database" -> database(bot, roles, target, request, now, ttl, detail);
            case "kubernetes" -> kubernetes(bot, roles, target, request, now, ttl, detail);
            case "application" -> application(bot, request, now, ttl, detail);
            case "identity" -> identity(bot, caller, roleNames, request, now, ttl, detail);
            case "ssh_user" -> sshUser(bot, roles, target, request, now, ttl, detail);
            case "ssh_host" -> sshHost(roles, target, request, now, ttl, detail);
            case "jwt_svid" -> jwtSvid(bot, roles, target, now, ttl, detail);
            default ->
              throw Json.malformed(
                  "unknown kind '" + IdentityDecisions.printable(kind)
                      + "'; one of application, database, kubernetes, ssh_user, ssh_host, jwt_svid, identity");
          };
      // Issued only if nothing revoked the caller meanwhile: the re-check and the audit event share
      // one transaction ordered against locks and bot deletions on every replica.
      IdentityDecisions.Caller authorised = caller;
      engine.store().inTransaction(tx -> {
        engine.revalidate(tx, authorised.instance().id(), authorised.serial(), now);
        engine
            .audit()
            .success(
                tx,
                "certificate.issued",
                authorised.bot(),
                authorised.instance().id(),
                detail);
        return null;
      });
      LOG.info("issued {} credential for bot '{}' ({})", kind, caller.bot(), detail.get("subject"));
      return answer;
    } catch (ProblemException e) {
      detail.put("code", e.code().code());
      detail.put("reason", e.getMessage());
      engine
          .audit()
          .failure(
              "certificate.issued",
              caller == null ? null : caller.bot(),
              caller == null ? null : caller.instance().id(),
              detail);
      LOG.info("credential refused ({}): {} [remote {}]", e.code().code(), e.getMessage(), remote);
      throw e;
    }
  }

  // ---------------------------------------------------------------- authorisation

  private List<Role> roles(Bot bot, List<String> names, String kind) {
    if (names.isEmpty() && !kind.equals("application") && !kind.equals("identity")) {
      throw Json.malformed("field 'roles' must name at least one role for kind '"
          + IdentityDecisions.printable(kind) + "'");
    }
    List<Role> out = new ArrayList<>();
    for (String n : names) {
      if (!bot.roles().contains(n)) {
        throw new ProblemException(
            ErrorCode.ROLE_DENIED,
            "role '" + IdentityDecisions.printable(n) + "' is not granted to this bot",
            "bot '" + bot.name() + "' does not hold role '" + IdentityDecisions.printable(n) + "'");
      }
      out.add(engine
          .store()
          .findRole(n)
          .orElseThrow(() -> new ProblemException(
              ErrorCode.ROLE_DENIED,
              "role '" + IdentityDecisions.printable(n) + "' does not exist",
              "role '" + IdentityDecisions.printable(n) + "' is not defined")));
    }
    return out;
  }

  /** min(requested, every role's max_ttl, 1 h, the bot certificate's remaining life). */
  private static Duration ttl(
      CertificatesRequest request, List<Role> roles, X509Certificate botCert, Instant now) {
    Duration requested = Json.ttl(request.ttl(), "ttl", MAX_TTL, Duration.ofHours(24));
    Duration ttl = requested.compareTo(MAX_TTL) > 0 ? MAX_TTL : requested;
    for (Role r : roles) {
      if (r.maxTtl() != null && r.maxTtl().compareTo(ttl) < 0) {
        ttl = r.maxTtl();
      }
    }
    Duration remaining = Duration.between(now, botCert.getNotAfter().toInstant());
    if (remaining.compareTo(ttl) < 0) {
      ttl = remaining;
    }
    if (ttl.toSeconds() < 1) {
      throw new ProblemException(
          ErrorCode.TTL_EXCEEDED,
          "the bot certificate expires too soon to issue a credential; renew first",
          "bot certificate has " + remaining + " left");
    }
    return ttl;
  }

  /** The union of a role field over the roles, with {@code {{internal.<trait>}}} expanded from the bot's traits. */
  static List<String> allowed(
      Bot bot, List<Role> roles, java.util.function.Function<Role, List<String>> field) {
    Set<String> out = new LinkedHashSet<>();
    for (Role r : roles) {
      for (String v : field.apply(r)) {
        out.addAll(expand(bot, v));
      }
    }
    return List.copyOf(out);
  }

  static List<String> expand(Bot bot, String value) {
    Matcher m = TEMPLATE.matcher(value);
    if (!m.find()) {
      return List.of(value);
    }
    if (m.start() != 0 || m.end() != value.length()) {
      // a template must stand alone: "{{internal.logins}}", never "prefix-{{…}}"
      return List.of();
    }
    List<String> traits = bot.traits().get(m.group(1));
    return traits == null ? List.of() : traits;
  }

  private static ProblemException denied(String what, String value, List<String> allowed) {
    return new ProblemException(
        ErrorCode.ROLE_DENIED,
        what + " '" + IdentityDecisions.printable(value)
            + "' is not allowed by the requested roles",
        what + " '" + IdentityDecisions.printable(value) + "' not in " + allowed);
  }

  // ---------------------------------------------------------------- kinds

  private CertificatesResponse database(
      Bot bot,
      List<Role> roles,
      ObjectNode target,
      CertificatesRequest request,
      Instant now,
      Duration ttl,
      Map<String, String> detail) {
    String user = Json.text(target, "database_user");
    List<String> allowed = allowed(bot, roles, Role::dbUsers);
    if (!allowed.contains(user)) {
      throw denied("database user", user, allowed);
    }
    PublicKey key = Keys.parse(Json.required(request.publicKey(), "public_key"));
    CertificateAuthority ca = authorities.get(Purpose.DATABASE_CLIENT);
    X509Certificate cert = ca.issueLeaf(
        name(BCStyle.CN, user), List.of(), List.of(KeyPurposeId.id_kp_clientAuth), key, now, ttl);
    return x509(cert, ca, now, detail, "CN=" + user);
  }

  private CertificatesResponse kubernetes(
      Bot bot,
      List<Role> roles,
      ObjectNode target,
      CertificatesRequest request,
      Instant now,
      Duration ttl,
      Map<String, String> detail) {
    List<String> users = allowed(bot, roles, Role::kubernetesUsers);
    List<String> groups = allowed(bot, roles, Role::kubernetesGroups);
    if (users.isEmpty() && groups.isEmpty()) {
      throw new ProblemException(
          ErrorCode.ROLE_DENIED,
          "the requested roles allow no Kubernetes user or group",
          "no kubernetes_users or kubernetes_groups in "
              + roles.stream().map(Role::name).toList());
    }
    String user = Json.optionalText(target, "kubernetes_user");
    if (user == null) {
      // a role that sets only groups: the user is the bot's own user name
      user = users.size() == 1 ? users.get(0) : "bot-" + bot.name();
    } else if (!users.contains(user)) {
      throw denied("Kubernetes user", user, users);
    }
    List<String> requestedGroups = stringList(target, "kubernetes_groups");
    List<String> chosen = requestedGroups.isEmpty() ? groups : requestedGroups;
    for (String g : chosen) {
      if (!groups.contains(g)) {
        throw denied("Kubernetes group", g, groups);
      }
      if (g.startsWith("system:") && !grantedBySystemRole(bot, roles, g)) {
        throw new ProblemException(
            ErrorCode.ROLE_DENIED,
            "Kubernetes group '" + IdentityDecisions.printable(g) + "' is a system group",
            "group " + g + " starts with system: and no role granting it sets allow_system_groups");
      }
    }
    X500NameBuilder n = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, user);
    for (String g : chosen) {
      n.addRDN(BCStyle.O, g);
    }
    PublicKey key = Keys.parse(Json.required(request.publicKey(), "public_key"));
    CertificateAuthority ca = authorities.get(Purpose.KUBERNETES_CLIENT);
    X509Certificate cert =
        ca.issueLeaf(n.build(), List.of(), List.of(KeyPurposeId.id_kp_clientAuth), key, now, ttl);
    return x509(
        cert,
        ca,
        now,
        detail,
        "CN=" + user + (chosen.isEmpty() ? "" : ", O=" + String.join(",", chosen)));
  }

  private static boolean grantedBySystemRole(Bot bot, List<Role> roles, String group) {
    for (Role r : roles) {
      if (r.allowSystemGroups()
          && allowed(bot, List.of(r), Role::kubernetesGroups).contains(group)) {
        return true;
      }
    }
    return false;
  }

  private CertificatesResponse application(
      Bot bot, CertificatesRequest request, Instant now, Duration ttl, Map<String, String> detail) {
    PublicKey key = Keys.parse(Json.required(request.publicKey(), "public_key"));
    SpiffeId id = SpiffeId.forBot(engine.trustDomain(), bot.name());
    CertificateAuthority ca = authorities.get(Purpose.SPIFFE);
    // an X509-SVID: exactly one URI SAN, the SPIFFE ID; usable by clients and servers
    X509Certificate cert = ca.issueLeaf(
        new X500Name(new org.bouncycastle.asn1.x500.RDN[0]),
        List.of(new GeneralName(GeneralName.uniformResourceIdentifier, id.toString())),
        List.of(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth),
        key,
        now,
        ttl);
    return x509(cert, ca, now, detail, id.toString());
  }

  /**
   * A role-scoped identity credential: names the bot for relying parties, but carries the
   * {@link CredentialMarks#SCOPED_IDENTITY} mark and no bot identity extension, so that it can never
   * renew, request credentials, send heartbeats or re-join (docs/architecture.md §11, invariant 13).
   */
  private CertificatesResponse identity(
      Bot bot,
      IdentityDecisions.Caller caller,
      List<String> roleNames,
      CertificatesRequest request,
      Instant now,
      Duration ttl,
      Map<String, String> detail) {
    PublicKey key = Keys.parse(Json.required(request.publicKey(), "public_key"));
    X509Certificate cert = engine
        .ca()
        .issueScopedIdentity(
            engine.trustDomain(), bot.name(), key, caller.instance().id(), roleNames, now, ttl);
    return x509(cert, engine.ca(), now, detail, "CN=bot-" + bot.name() + " (role-scoped)");
  }

  private CertificatesResponse sshUser(
      Bot bot,
      List<Role> roles,
      ObjectNode target,
      CertificatesRequest request,
      Instant now,
      Duration ttl,
      Map<String, String> detail) {
    List<String> allowed = allowed(bot, roles, Role::logins);
    List<String> requested = stringList(target, "logins");
    List<String> principals = requested.isEmpty() ? allowed : requested;
    if (principals.isEmpty()) {
      throw new ProblemException(
          ErrorCode.ROLE_DENIED,
          "the requested roles allow no SSH login",
          "no logins in the roles");
    }
    for (String p : principals) {
      if (!allowed.contains(p)) {
        throw denied("login", p, allowed);
      }
    }
    String line = ssh.signUser(
        Json.required(request.sshPublicKey(), "ssh_public_key"),
        "bot-" + bot.name(),
        principals,
        now,
        ttl);
    detail.put("subject", "logins=" + String.join(",", principals));
    return new CertificatesResponse(
        null,
        line,
        null,
        now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plusSeconds(ttl.toSeconds()),
        now);
  }

  private CertificatesResponse sshHost(
      List<Role> roles,
      ObjectNode target,
      CertificatesRequest request,
      Instant now,
      Duration ttl,
      Map<String, String> detail) {
    List<String> hosts = stringList(target, "host_names");
    if (hosts.isEmpty()) {
      throw Json.malformed("target.host_names must name at least one host");
    }
    for (String h : hosts) {
      if (!HOST_NAME.matcher(h).matches()) {
        // separators (',' ' ' ';') or control characters would split or forge principals downstream
        throw Json.malformed("target.host_names: '" + IdentityDecisions.printable(h)
            + "' is not a host name (letters, digits, '.', '-', '_', ':'; at most 253)");
      }
      boolean ok = false;
      for (Role r : roles) {
        for (String glob : r.hostNames()) {
          ok |= hostGlob(glob, h);
        }
      }
      if (!ok) {
        throw denied(
            "host name", h, roles.stream().flatMap(r -> r.hostNames().stream()).toList());
      }
    }
    String line = ssh.signHost(
        Json.required(request.sshPublicKey(), "ssh_public_key"), hosts.get(0), hosts, now, ttl);
    detail.put("subject", "hosts=" + String.join(",", hosts));
    return new CertificatesResponse(
        null,
        line,
        null,
        now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plusSeconds(ttl.toSeconds()),
        now);
  }

  /**
   * A host-name glob: {@code *} matches within one DNS label (never a '.' or a '/'); everything else
   * literally, case-insensitive. Deny by default: an empty list matches nothing.
   */
  private static final Pattern HOST_NAME = Pattern.compile("[A-Za-z0-9._:-]{1,253}");

  static boolean hostGlob(String glob, String host) {
    StringBuilder re = new StringBuilder();
    for (char c : glob.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
      if (c == '*') {
        re.append("[^./]*");
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return host.toLowerCase(java.util.Locale.ROOT).matches(re.toString());
  }

  private CertificatesResponse jwtSvid(
      Bot bot,
      List<Role> roles,
      ObjectNode target,
      Instant now,
      Duration ttl,
      Map<String, String> detail) {
    List<String> audiences = stringList(target, "audiences");
    if (audiences.isEmpty()) {
      throw Json.malformed("target.audiences must name at least one audience");
    }
    List<String> allowed = allowed(bot, roles, Role::jwtAudiences);
    for (String a : audiences) {
      if (!allowed.contains(a)) {
        throw denied("JWT audience", a, allowed);
      }
    }
    Instant iat = now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    Instant exp = iat.plusSeconds(ttl.toSeconds());
    String sub = SpiffeId.forBot(engine.trustDomain(), bot.name()).toString();
    try {
      SignedJWT jwt = new SignedJWT(
          new JWSHeader.Builder(JWSAlgorithm.ES256)
              .keyID(jwtKeyId)
              .type(JOSEObjectType.JWT)
              .build(),
          new JWTClaimsSet.Builder()
              .subject(sub)
              .audience(audiences)
              .issueTime(Date.from(iat))
              .expirationTime(Date.from(exp))
              .jwtID(UUID.randomUUID().toString())
              .build());
      jwt.sign(new ECDSASigner((ECPrivateKey) authorities.jwtKey().getPrivate()));
      detail.put("subject", sub);
      detail.put("audiences", String.join(",", audiences));
      return new CertificatesResponse(null, null, jwt.serialize(), exp, now);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a JWT-SVID", e);
    }
  }

  // ---------------------------------------------------------------- helpers

  private static CertificatesResponse x509(
      X509Certificate cert,
      CertificateAuthority ca,
      Instant now,
      Map<String, String> detail,
      String subject) {
    detail.put("serial", CertificateAuthority.serialHex(cert));
    detail.put("subject", subject);
    return new CertificatesResponse(
        List.of(Pem.encode(cert), Pem.encode(ca.certificate())),
        null,
        null,
        cert.getNotAfter().toInstant(),
        now);
  }

  private static X500Name name(org.bouncycastle.asn1.ASN1ObjectIdentifier type, String value) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(type, value).build();
  }

  /** The strings of a list field already read into a record: non-empty, at most 253 characters each, at most 64. */
  public static List<String> stringList(List<String> values, String field) {
    if (values == null) {
      return List.of();
    }
    for (String v : values) {
      if (v == null || v.isBlank() || v.length() > 253) {
        throw Json.malformed(
            "field '" + field + "' must hold non-empty strings of at most 253 characters");
      }
    }
    if (values.size() > 64) {
      throw Json.malformed("field '" + field + "' holds more than 64 entries");
    }
    return List.copyOf(values);
  }

  static List<String> stringList(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw Json.malformed("field '" + field + "' must be a list of strings");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual() || e.asText().isBlank() || e.asText().length() > 253) {
        throw Json.malformed(
            "field '" + field + "' must hold non-empty strings of at most 253 characters");
      }
      out.add(e.asText());
    }
    if (out.size() > 64) {
      throw Json.malformed("field '" + field + "' holds more than 64 entries");
    }
    return out;
  }
}
