package dev.machineid.issuer.internal.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.CaPin;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.Admins;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditQuery;
import dev.machineid.issuer.AuditRetentionRefusedException;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.BotInstance;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.Tokens;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.Json;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.audit.Auditor;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.Keys;
import dev.machineid.issuer.internal.http.Requests;
import dev.machineid.issuer.internal.join.CredentialService;
import dev.machineid.issuer.internal.join.IdentityDecisions;
import dev.machineid.issuer.internal.resources.IssuerServices;
import dev.machineid.issuer.internal.resources.Resources;
import java.net.URI;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.eclipse.jetty.http.pathmap.UriTemplatePathSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /v1/admin/...}: bots, roles, tokens, instances, locks, audit, status and the admin's own
 * renewal, over mTLS with an admin certificate ({@link AdminCertificates}). JSON in and out
 * (snake_case); failures are {@link ProblemException}s. The endpoints are declared in one table,
 * {@link #ROUTES}: a method, a path template and a handler each, listed by
 * {@code docs/issuer.md}. The admin is authenticated before the path is looked up, so an
 * unauthenticated caller learns nothing about which paths exist.
 */
public final class AdminApi {
  private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
  public static final String PREFIX = "/v1/admin/";
  private static final Duration BOT_TOKEN_TTL = Duration.ofHours(1);
  private static final String SELF_REMOVAL =
      "another admin can remove it, or remove it from 'admins:' in issuer.yaml and restart 'issuer serve' (which applies that list as the operator's own action)";

  private final IssuerServices services;
  private final String trustDomain;
  private final Authority trustBundle;
  private final Set<String> joinMethods;
  private final Supplier<URI> url;
  private final CertificateAuthority ca;
  private final Clock clock;
  private final Auditor audit;
  private volatile boolean warnedNoAdminStore;

  /** Reads the request body when a route needs one. */
  @FunctionalInterface
  public interface Body {
    ObjectNode read() throws java.io.IOException;
  }

  /** An answer: {@code body} null means 204. */
  public record Reply(int status, Object body) {}

  /**
   * @param services what every route calls
   * @param trustBundle the trust bundle served at {@code /v1/authority}
   * @param joinMethods the join methods the issuer verifies
   * @param url the issuer's URL once it listens
   * @param ca the issuer authority: admin certificates chain to it
   * @param audit writes the (sampled) audit rows of refused admin calls
   */
  public AdminApi(
      IssuerServices services,
      String trustDomain,
      Authority trustBundle,
      Set<String> joinMethods,
      Supplier<URI> url,
      CertificateAuthority ca,
      Clock clock,
      Auditor audit) {
    this.services = services;
    this.trustDomain = trustDomain;
    this.trustBundle = trustBundle;
    this.joinMethods = Set.copyOf(joinMethods);
    this.url = url;
    this.ca = ca;
    this.clock = clock;
    this.audit = audit;
  }

  /** The issuer's version: its jar's {@code Implementation-Version}, or the development version. */
  public static String version() {
    String v = AdminApi.class.getPackage() == null
        ? null
        : AdminApi.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }

  /**
   * Serves one admin call from {@code remote}. A call that presents a client certificate and is
   * refused as {@code unauthenticated} (a bot certificate, a removed or unrecorded admin, a renewed
   * admin certificate renewing again) is audited as {@value #REFUSED}, sampled like the other
   * refusals of callers that established no identity (first of each window written), with who
   * (subject and serial), which endpoint and why. A call without a certificate is refused at the
   * edge and not audited, as on the other calls.
   */
  public Reply handle(
      String method,
      String path,
      Map<String, String> query,
      Body body,
      X509Certificate[] peer,
      String remote)
      throws java.io.IOException {
    try {
      return serve(method, path, query, body, peer);
    } catch (ProblemException e) {
      if (e.code() == ErrorCode.UNAUTHENTICATED && peer != null && peer.length > 0) {
        auditRefusal(method, path, peer[0], remote, e);
      }
      throw e;
    }
  }

  /** The audit event type of a refused admin call. */
  public static final String REFUSED = "admin.refused";

  private void auditRefusal(
      String method, String path, X509Certificate presented, String remote, ProblemException e) {
    Map<String, String> detail = new LinkedHashMap<>();
    detail.put("remote_address", remote);
    detail.put("endpoint", method + " " + IdentityDecisions.printable(path));
    detail.put("subject", presented.getSubjectX500Principal().getName());
    detail.put("serial", CertificateAuthority.serialHex(presented));
    detail.put("code", e.code().code());
    detail.put("reason", e.getMessage());
    audit.failure(REFUSED, null, null, detail);
    LOG.info(
        "admin call {} {} refused ({}): {} [remote {}, serial {}]",
        method,
        IdentityDecisions.printable(path),
        e.code().code(),
        e.getMessage(),
        remote,
        detail.get("serial"));
  }

  private Reply serve(
      String method, String path, Map<String, String> query, Body body, X509Certificate[] peer)
      throws java.io.IOException {
    String admin = authenticate(peer);
    try {
      return Auditor.actingAs(
          "admin:" + admin, () -> route(admin, peer[0], method, path, query, body));
    } catch (java.io.IOException | ProblemException e) {
      throw e;
    } catch (SecurityException e) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "an admin client certificate of this issuer is required",
          e.getMessage());
    } catch (IllegalArgumentException e) {
      throw Json.malformed(e.getMessage());
    } catch (IllegalStateException e) {
      // conflicts with existing state (a duplicate name); the protocol has no separate code for
      // them
      throw Json.malformed(e.getMessage());
    } catch (UnsupportedOperationException e) {
      throw ProblemException.of(
          ErrorCode.NOT_FOUND, "not available on this store: " + e.getMessage());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- routes: the one place the admin API's endpoints are declared

  /** What a route's handler gets: the calling admin, its certificate, the path's variables, the query and the body. */
  record Call(
      String admin,
      X509Certificate presented,
      Map<String, String> path,
      Map<String, String> query,
      Body body) {
    String var(String name) {
      return path.get(name);
    }

    ObjectNode json() throws java.io.IOException {
      return body.read();
    }
  }

  /** Serves one endpoint. */
  @FunctionalInterface
  interface Action {
    Reply run(AdminApi api, Call call) throws java.io.IOException;
  }

  /** One endpoint: a method and a path template ({@code {name}} is one path segment), and what serves it. */
  public record Route(String method, String template, Action action, UriTemplatePathSpec spec) {
    static Route of(String method, String template, Action action) {
      return new Route(method, template, action, new UriTemplatePathSpec(template));
    }
  }

  /**
   * Every admin endpoint: adding one is adding an entry here. A path no entry matches is
   * {@code 404 not_found}; a path that matches with another method is {@code 405 method_not_allowed}.
   */
  public static final List<Route> ROUTES = List.of(
      Route.of("GET", PREFIX + "status", AdminApi::status),
      Route.of("POST", PREFIX + "renew", AdminApi::renewAdmin),
      Route.of("POST", PREFIX + "sign", AdminApi::sign),
      Route.of("GET", PREFIX + "admins", AdminApi::listAdmins),
      Route.of("PUT", PREFIX + "admins", AdminApi::setAdmins),
      Route.of("DELETE", PREFIX + "admins/{name}", AdminApi::removeAdmin),
      Route.of("GET", PREFIX + "bots", AdminApi::listBots),
      Route.of("POST", PREFIX + "bots", AdminApi::createBot),
      Route.of("GET", PREFIX + "bots/{name}", AdminApi::getBot),
      Route.of("PATCH", PREFIX + "bots/{name}", AdminApi::updateBot),
      Route.of("DELETE", PREFIX + "bots/{name}", AdminApi::deleteBot),
      Route.of("GET", PREFIX + "roles", AdminApi::listRoles),
      Route.of("POST", PREFIX + "roles", AdminApi::createRole),
      Route.of("GET", PREFIX + "roles/{name}", AdminApi::getRole),
      Route.of("PUT", PREFIX + "roles/{name}", AdminApi::putRole),
      Route.of("DELETE", PREFIX + "roles/{name}", AdminApi::deleteRole),
      Route.of("GET", PREFIX + "tokens", AdminApi::listTokens),
      Route.of("POST", PREFIX + "tokens", AdminApi::createToken),
      Route.of("DELETE", PREFIX + "tokens/{ref}", AdminApi::deleteToken),
      Route.of("GET", PREFIX + "instances", AdminApi::listInstances),
      Route.of("GET", PREFIX + "instances/{bot}/{id}", AdminApi::getInstance),
      Route.of("GET", PREFIX + "locks", AdminApi::listLocks),
      Route.of("POST", PREFIX + "locks", AdminApi::createLock),
      Route.of("DELETE", PREFIX + "locks/{id}", AdminApi::removeLock),
      Route.of("GET", PREFIX + "audit", AdminApi::listAudit),
      Route.of("POST", PREFIX + "audit/verify", AdminApi::verifyAudit),
      Route.of("POST", PREFIX + "audit/prune", AdminApi::pruneAudit));

  private Reply route(
      String admin,
      X509Certificate presented,
      String method,
      String path,
      Map<String, String> query,
      Body body)
      throws java.io.IOException {
    List<Route> matching = ROUTES.stream().filter(r -> r.spec().matches(path)).toList();
    if (matching.isEmpty()) {
      throw ProblemException.of(ErrorCode.NOT_FOUND, "no such admin endpoint");
    }
    Route route =
        matching.stream().filter(r -> r.method().equals(method)).findFirst().orElse(null);
    if (route == null) {
      List<String> allowed = matching.stream().map(Route::method).toList();
      throw ProblemException.of(
          ErrorCode.METHOD_NOT_ALLOWED,
          "use " + String.join(" or ", allowed) + " on this endpoint");
    }
    return route
        .action()
        .run(this, new Call(admin, presented, route.spec().getPathParams(path), query, body));
  }

  // ---- status and the admin's own certificate

  private Reply status(Call c) {
    ObjectNode o = obj();
    o.put("version", version())
        .put("trust_domain", trustDomain)
        .put("ca_pin", CaPin.of(ca.certificate()).toString())
        .put("url", url.get().toString())
        .put("admin", c.admin());
    ArrayNode m = o.putArray("join_methods");
    joinMethods.stream().sorted().forEach(m::add);
    return ok(o);
  }

  private Reply renewAdmin(Call c) throws java.io.IOException {
    AdminRequests.Renew r = Requests.read(c.json(), AdminRequests.Renew.class);
    PublicKey key = Keys.parse(r.publicKey());
    Duration ttl =
        Json.ttl(r.ttl(), "ttl", AdminCertificates.DEFAULT_TTL, AdminCertificates.MAX_TTL);
    X509Certificate cert = services.admins().renewCertificate(c.admin(), c.presented(), key, ttl);
    ObjectNode o = obj();
    o.putArray("certificate_chain").add(Pem.encode(cert)).add(Pem.encode(ca.certificate()));
    o.put("not_after", cert.getNotAfter().toInstant().toString());
    return ok(o);
  }

  /** issuer sign: certificates for targets (database servers, SSH hosts), with their own longer TTL. */
  private Reply sign(Call c) throws java.io.IOException {
    AdminRequests.Sign b = Requests.read(c.json(), AdminRequests.Sign.class);
    String kind = b.kind();
    List<String> hosts = CredentialService.stringList(b.hostNames(), "host_names");
    if (hosts.isEmpty()) {
      throw Json.malformed("field 'host_names' must name at least one host");
    }
    // bounded by the issuer's sign_max_ttl (ttl_exceeded above it); host names checked by the
    // issuer
    Duration max = services.signing().maxTtl();
    Duration ttl = Json.ttl(
        b.ttl(), "ttl", Duration.ofDays(30).compareTo(max) < 0 ? Duration.ofDays(30) : max, max);
    ObjectNode o = obj();
    switch (kind) {
      case "database_server" -> {
        List<X509Certificate> chain = services
            .signing()
            .databaseServer(Keys.parse(Json.required(b.publicKey(), "public_key")), hosts, ttl);
        ArrayNode ch = o.putArray("certificate_chain");
        chain.forEach(x -> ch.add(Pem.encode(x)));
        o.put("not_after", chain.get(0).getNotAfter().toInstant().toString());
        o.put(
            "client_ca",
            Pem.encode(Pem.certificate(trustBundle.databaseClientAuthorities().get(0))));
      }
      case "ssh_host" -> {
        o.put(
            "ssh_certificate",
            services
                .signing()
                .sshHost(Json.required(b.sshPublicKey(), "ssh_public_key"), hosts, ttl));
        o.put("user_ca", trustBundle.sshUserAuthorities().get(0));
      }
      default -> throw Json.malformed("field 'kind' must be database_server or ssh_host");
    }
    return ok(o);
  }

  // ---- admins

  private Reply listAdmins(Call c) {
    ArrayNode a = arr();
    services.admins().list().forEach(x -> a.addObject()
        .put("name", x.name())
        .put("created_at", x.createdAt().toString()));
    return ok(a);
  }

  private Reply setAdmins(Call c) throws java.io.IOException {
    List<String> names = Requests.read(c.json(), AdminRequests.Admins.class).names();
    // the same rule as DELETE: the API never removes its caller, so a list that keeps the
    // caller also always keeps an admin with a usable certificate
    if (!names.contains(c.admin())) {
      throw Json.malformed("the admin list must keep the calling admin '" + c.admin()
          + "': an admin cannot remove itself; " + SELF_REMOVAL);
    }
    Admins.Changes changes = services.admins().sync(names);
    ObjectNode o = obj();
    changes.added().forEach(o.putArray("added")::add);
    changes.removed().forEach(o.putArray("removed")::add);
    return ok(o);
  }

  private Reply removeAdmin(Call c) {
    String name = c.var("name");
    if (name.equals(c.admin())) {
      throw Json.malformed("an admin cannot remove itself; " + SELF_REMOVAL);
    }
    if (!services.admins().remove(name)) {
      throw notFound("admin", name);
    }
    return new Reply(204, null);
  }

  // ---- bots

  private Reply listBots(Call c) {
    ArrayNode a = arr();
    services.bots().list().forEach(bt -> a.add(bot(bt)));
    return ok(a);
  }

  private Reply getBot(Call c) {
    String name = c.var("name");
    return ok(bot(services.bots().find(name).orElseThrow(() -> notFound("bot", name))));
  }

  private Reply updateBot(Call c) throws java.io.IOException {
    return ok(bot(updateBot(c.var("name"), c.json())));
  }

  private Reply deleteBot(Call c) {
    String name = c.var("name");
    if (!services.bots().delete(name)) {
      throw notFound("bot", name);
    }
    return new Reply(204, null);
  }

  // ---- roles

  private Reply listRoles(Call c) {
    ArrayNode a = arr();
    services.roles().list().forEach(r -> a.add(Resources.roleJson(r)));
    return ok(a);
  }

  private Reply createRole(Call c) throws java.io.IOException {
    Role role = Resources.role(c.json());
    return new Reply(201, Resources.roleJson(services.roles().create(role)));
  }

  private Reply getRole(Call c) {
    String name = c.var("name");
    return ok(
        Resources.roleJson(services.roles().find(name).orElseThrow(() -> notFound("role", name))));
  }

  private Reply putRole(Call c) throws java.io.IOException {
    String name = c.var("name");
    Role role = Resources.role(c.json());
    if (!role.name().equals(name)) {
      throw Json.malformed(
          "the role resource is named '" + IdentityDecisions.printable(role.name()) + "', not '"
              + IdentityDecisions.printable(name) + "' as in the path; a role cannot be renamed");
    }
    return ok(Resources.roleJson(
        services.roles().update(role).orElseThrow(() -> notFound("role", name))));
  }

  private Reply deleteRole(Call c) {
    String name = c.var("name");
    if (!services.roles().delete(name)) {
      throw notFound("role", name);
    }
    return new Reply(204, null);
  }

  // ---- tokens

  private Reply listTokens(Call c) {
    ArrayNode a = arr();
    services.tokens().list().forEach(t -> a.add(token(t)));
    return ok(a);
  }

  private Reply createToken(Call c) throws java.io.IOException {
    Resources.TokenSpec spec = Resources.token(c.json(), clock.instant(), Duration.ofHours(1));
    Tokens.Created created = services
        .tokens()
        .create(spec.name(), spec.bot(), spec.joinMethod(), spec.expires(), spec.rules());
    ObjectNode o = token(created.token());
    o.put("token", created.name());
    return new Reply(201, o);
  }

  private Reply deleteToken(Call c) {
    String ref = c.var("ref");
    Optional<Token> match = findToken(ref);
    if (match.isEmpty() || !services.tokens().delete(match.get().id())) {
      throw notFound("token", ref);
    }
    return new Reply(204, null);
  }

  // ---- instances

  private Reply listInstances(Call c) {
    String bot = c.query().get("bot");
    List<String> bots = new ArrayList<>();
    if (bot != null) {
      services.bots().find(bot).orElseThrow(() -> notFound("bot", bot));
      bots.add(bot);
    } else {
      services.bots().list().forEach(b -> bots.add(b.name()));
    }
    ArrayNode a = arr();
    for (String b : bots) {
      services.instances().list(b).forEach(i -> a.add(instance(i)));
    }
    return ok(a);
  }

  private Reply getInstance(Call c) {
    String bot = c.var("bot");
    String id = c.var("id");
    BotInstance i = services
        .instances()
        .find(id)
        .filter(x -> x.bot().equals(bot))
        .orElseThrow(() -> notFound("instance", bot + "/" + id));
    return ok(instance(i));
  }

  // ---- locks

  private Reply listLocks(Call c) {
    ArrayNode a = arr();
    Instant now = clock.instant();
    services.locks().list().forEach(l -> a.add(lock(l, now)));
    return ok(a);
  }

  private Reply createLock(Call c) throws java.io.IOException {
    return new Reply(201, lock(services.locks().create(lockFrom(c.json())), clock.instant()));
  }

  private Reply removeLock(Call c) {
    String id = c.var("id");
    if (!services.locks().remove(id)) {
      throw notFound("lock", id);
    }
    return new Reply(204, null);
  }

  // ---- audit

  private Reply listAudit(Call c) {
    return ok(audit(c.query()));
  }

  private Reply verifyAudit(Call c) {
    return ok(verifyAudit(c.query().get("pin")));
  }

  private Reply pruneAudit(Call c) throws java.io.IOException {
    Instant before =
        pointInTime(Requests.read(c.json(), AdminRequests.Prune.class).before(), "before");
    ObjectNode o = obj();
    try {
      o.put("removed", services.audit().prune(before));
    } catch (AuditRetentionRefusedException e) {
      // the log does not verify: the admin is told where, as `issuer audit verify` would
      throw ProblemException.of(e.code(), e.getMessage());
    }
    return ok(o);
  }

  // ---- authentication

  private String authenticate(X509Certificate[] peer) {
    String name = AdminCertificates.adminName(peer, ca, trustDomain, clock.instant());
    Optional<String> refusal;
    try {
      // recorded and not removed, not older than its record, not locked (nor the certificate it was
      // renewed from)
      refusal = services.admins().refusal(name, peer[0]);
    } catch (UnsupportedOperationException e) {
      if (!warnedNoAdminStore) {
        warnedNoAdminStore = true;
        LOG.warn(
            "the store does not record admin identities; any valid admin certificate of the issuer authority is accepted");
      }
      return name;
    }
    if (refusal.isPresent()) {
      throw new ProblemException(
          ErrorCode.UNAUTHENTICATED,
          "an admin client certificate of this issuer is required",
          refusal.get());
    }
    return name;
  }

  // ---- bots

  private Reply createBot(Call c) throws java.io.IOException {
    return createBot(c.json());
  }

  private Reply createBot(ObjectNode body) {
    AdminRequests.NewBot b = Requests.read(body, AdminRequests.NewBot.class);
    String name = b.name();
    List<String> roles = b.roles();
    Map<String, List<String>> traits = new LinkedHashMap<>(b.traits());
    if (!b.logins().isEmpty()) {
      traits.put("logins", b.logins());
    }
    Duration ttl = Json.ttl(b.tokenTtl(), "token_ttl", BOT_TOKEN_TTL, Duration.ofDays(7));
    requireRoles(roles);
    Bot bot = services.bots().create(name, roles, traits);
    Tokens.Created token =
        services.tokens().create(null, bot.name(), "token", clock.instant().plus(ttl), Map.of());
    ObjectNode o = obj();
    o.set("bot", bot(bot));
    o.put("token", token.name());
    o.put("token_id", token.token().shortId());
    o.put("token_expires_at", token.token().expiresAt().toString());
    o.put("ca_pin", CaPin.of(ca.certificate()).toString());
    o.put("issuer", url.get().toString());
    return new Reply(201, o);
  }

  /** Refuses (not_found) a role that is not stored, as creation does, before anything changes. */
  private void requireRoles(List<String> roles) {
    for (String r : roles) {
      boolean exists;
      try {
        exists = services.roles().find(r).isPresent();
      } catch (UnsupportedOperationException e) {
        exists = true;
      }
      if (!exists) {
        throw ProblemException.of(
            ErrorCode.NOT_FOUND,
            "no role named '" + IdentityDecisions.printable(r)
                + "'; create it first with 'issuer roles create -f role.yaml'");
      }
    }
  }

  /**
   * {@code PATCH /v1/admin/bots/{name}}: {@code roles}, {@code logins} and {@code traits}, each
   * optional, replace the current values; at least one must be given.
   */
  private Bot updateBot(String name, ObjectNode b) {
    java.util.Set<String> known = java.util.Set.of("roles", "logins", "traits");
    b.fieldNames().forEachRemaining(f -> {
      if (!known.contains(f)) {
        throw Json.malformed("unknown field '" + IdentityDecisions.printable(f)
            + "'; a bot update takes roles, logins and traits");
      }
    });
    if (!b.has("roles") && !b.has("logins") && !b.has("traits")) {
      throw Json.malformed("a bot update must give at least one of roles, logins and traits");
    }
    AdminRequests.BotUpdate update = Requests.read(b, AdminRequests.BotUpdate.class);
    List<String> roles = b.has("roles") ? update.roles() : null;
    List<String> logins = b.has("logins") ? update.logins() : null;
    Map<String, List<String>> traits = b.has("traits") ? update.traits() : null;
    services.bots().find(name).orElseThrow(() -> notFound("bot", name));
    if (roles != null) {
      requireRoles(roles);
    }
    // a bot deleted or a role deleted meanwhile: the transaction sees it
    return services
        .bots()
        .update(name, roles, logins, traits)
        .orElseThrow(() -> notFound("bot", name));
  }

  // ---- tokens

  private Optional<Token> findToken(String ref) {
    String hashed = Hashes.tokenId(ref);
    List<Token> all = services.tokens().list();
    for (Token t : all) {
      if (t.id().equals(ref) || t.id().equals(hashed) || ref.equals(t.name())) {
        return Optional.of(t);
      }
    }
    List<Token> prefixed =
        all.stream().filter(t -> ref.length() >= 8 && t.id().startsWith(ref)).toList();
    return prefixed.size() == 1 ? Optional.of(prefixed.get(0)) : Optional.empty();
  }

  // ---- locks

  private Lock lockFrom(ObjectNode body) {
    AdminRequests.NewLock b = Requests.read(body, AdminRequests.NewLock.class);
    String target = b.target();
    String value = b.value();
    String reason = b.reason();
    reason = reason == null || reason.isBlank() ? "locked by an admin" : reason;
    Lock lock =
        switch (target.toLowerCase(Locale.ROOT)) {
          case "bot" -> Lock.bot(value, reason);
          case "instance" -> Lock.instance(value, reason);
          case "token" -> Lock.token(findToken(value).map(Token::id).orElse(value), reason);
          case "identity" -> Lock.identity(value, reason);
          case "serial" -> Lock.serial(value, reason);
          default ->
            throw Json.malformed("target must be one of bot, instance, token, identity, serial");
        };
    String ttl = b.ttl();
    if (ttl != null) {
      try {
        Duration d = GoDuration.parse(ttl);
        if (d.compareTo(Duration.ofSeconds(1)) < 0) {
          // a lock that ends before it starts would be stored and audited but never apply
          throw Json.malformed(
              "field 'ttl' must be at least 1s, got " + IdentityDecisions.printable(ttl));
        }
        lock = lock.expiringAt(Json.recordable(
            clock.instant(), d, 1, "field 'ttl' is too long: the lock would end after year 9999"));
      } catch (IllegalArgumentException e) {
        throw Json.malformed("field 'ttl' must be a duration such as 90s, 15m or 1h");
      }
    }
    return lock;
  }

  // ---- audit

  /** An RFC 3339 time, or a duration such as {@code 1h} meaning that long ago. */
  private Instant pointInTime(String s, String field) {
    try {
      return Json.recordable(Instant.parse(s), field + " must lie between years 1 and 9999");
    } catch (DateTimeParseException e) {
      Duration d;
      try {
        d = GoDuration.parse(s);
      } catch (IllegalArgumentException e2) {
        throw Json.malformed(
            field + " must be an RFC 3339 time or a duration such as 1h (that long ago)");
      }
      return Json.recordable(
          clock.instant(), d, -1, field + " is too long ago: it reaches before year 1");
    }
  }

  private ArrayNode audit(Map<String, String> query) {
    Instant since = query.get("since") == null ? null : pointInTime(query.get("since"), "since");
    int limit = 1000;
    if (query.get("limit") != null) {
      try {
        limit = Integer.parseInt(query.get("limit"));
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > AuditQuery.MAX_LIMIT) {
        throw Json.malformed("limit must be 1 to " + AuditQuery.MAX_LIMIT);
      }
    }
    // filtered and limited in the database: a listing reads at most `limit` rows
    ArrayNode a = arr();
    for (AuditEvent e : services
        .audit()
        .events(new AuditQuery(since, query.get("type"), query.get("bot"), limit))) {
      ObjectNode o = a.addObject();
      o.put("id", e.id())
          .put("time", e.time().toString())
          .put("type", e.type())
          .put("bot", e.bot())
          .put("instance_id", e.instanceId())
          .put("outcome", e.outcome());
      ObjectNode d = o.putObject("detail");
      e.detail().entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .forEach(x -> d.put(x.getKey(), x.getValue()));
    }
    return a;
  }

  /**
   * {@link dev.machineid.issuer.Audit#verify()}: the store's hash chain, with snake_case member names; with
   * {@code pin} ({@code SEQ:HASH}, a head printed by an earlier verification) also that the chain
   * still holds that row.
   */
  private JsonNode verifyAudit(String pin) {
    AuditVerification v;
    if (pin == null) {
      v = services.audit().verify();
    } else {
      int colon = pin.indexOf(':');
      long seq;
      try {
        seq = Long.parseLong(pin.substring(0, Math.max(colon, 0)));
      } catch (NumberFormatException e) {
        seq = -1;
      }
      String hash = colon < 0 ? "" : pin.substring(colon + 1);
      if (seq < 0 || !hash.matches("[0-9a-f]{64}")) {
        throw Json.malformed(
            "pin must be SEQUENCE:HASH as printed by a verification (a number, a colon, 64 lower-case hex digits)");
      }
      v = services.audit().verify(seq, hash);
    }
    JsonNode tree = Protocol.toTree(v);
    ObjectNode out = obj();
    tree.fields()
        .forEachRemaining(e -> out.set(
            e.getKey().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT),
            e.getValue()));
    return out;
  }

  // ---- JSON views

  private static ObjectNode bot(Bot b) {
    ObjectNode o = obj();
    o.put("name", b.name());
    ArrayNode r = o.putArray("roles");
    b.roles().forEach(r::add);
    ObjectNode t = o.putObject("traits");
    b.traits().forEach((k, v) -> {
      ArrayNode a = t.putArray(k);
      v.forEach(a::add);
    });
    o.put("created_at", b.createdAt().toString());
    return o;
  }

  private static ObjectNode token(Token t) {
    ObjectNode o = obj();
    o.put("id", t.id())
        .put("short_id", t.shortId())
        .put("name", t.name())
        .put("bot", t.bot())
        .put("join_method", t.joinMethod());
    o.put("created_at", t.createdAt().toString())
        .put("expires_at", t.expiresAt().toString());
    o.put("consumed_at", t.consumedAt() == null ? null : t.consumedAt().toString());
    o.set("rules", Protocol.toTree(t.rules()));
    return o;
  }

  private static ObjectNode instance(BotInstance i) {
    ObjectNode o = obj();
    o.put("id", i.id())
        .put("bot", i.bot())
        .put("join_method", i.joinMethod())
        .put("created_at", i.createdAt().toString());
    o.put("generation", i.generation()).put("locked", i.locked());
    o.set("initial_authentication", authentication(i.initialAuthentication()));
    o.set("latest_authentication", authentication(i.latestAuthentication()));
    Heartbeat h = i.latestHeartbeat();
    if (h == null) {
      o.putNull("latest_heartbeat");
    } else {
      ObjectNode hb = o.putObject("latest_heartbeat");
      hb.put("received_at", h.receivedAt().toString())
          .put("hostname", h.hostname())
          .put("version", h.version())
          .put("uptime_seconds", h.uptimeSeconds())
          .put("one_shot", h.oneShot());
      ObjectNode outs = hb.putObject("outputs");
      h.outputs().forEach(outs::put);
    }
    return o;
  }

  private static ObjectNode authentication(Authentication a) {
    ObjectNode o = obj();
    o.put("time", a.time().toString())
        .put("remote_address", a.remoteAddress())
        .put("join_method", a.joinMethod())
        .put("generation", a.generation());
    ObjectNode m = o.putObject("metadata");
    a.metadata().forEach(m::put);
    return o;
  }

  private static ObjectNode lock(Lock l, Instant now) {
    ObjectNode o = obj();
    o.put("id", l.id())
        .put("target", l.target().label())
        .put("value", l.value())
        .put("reason", l.reason());
    o.put("created_at", l.createdAt() == null ? null : l.createdAt().toString());
    o.put("expires_at", l.expiresAt() == null ? null : l.expiresAt().toString());
    o.put("active", l.activeAt(now));
    return o;
  }

  // ---- helpers

  private static ObjectNode obj() {
    return Protocol.nodes().objectNode();
  }

  private static ArrayNode arr() {
    return Protocol.nodes().arrayNode();
  }

  private static Reply ok(Object body) {
    return new Reply(200, body);
  }

  private static ProblemException notFound(String what, String name) {
    return ProblemException.of(
        ErrorCode.NOT_FOUND, "no " + what + " '" + IdentityDecisions.printable(name) + "'");
  }
}
