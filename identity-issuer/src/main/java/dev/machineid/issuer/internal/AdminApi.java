package dev.machineid.issuer.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditQuery;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.BotInstance;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.Token;
import java.security.PublicKey;
import java.security.SecureRandom;
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

  private final Issuer issuer;
  private final CertificateAuthority ca;
  private final Clock clock;
  private volatile boolean warnedNoAdminStore;

  /** Reads the request body when a route needs one. */
  @FunctionalInterface
  public interface Body {
    ObjectNode read() throws java.io.IOException;
  }

  /** An answer: {@code body} null means 204. */
  public record Reply(int status, Object body) {}

  public AdminApi(Issuer issuer, CertificateAuthority ca, Clock clock, SecureRandom random) {
    this.issuer = issuer;
    this.ca = ca;
    this.clock = clock;
  }

  public static String version() {
    String v = Issuer.class.getPackage() == null ? null : Issuer.class.getPackage().getImplementationVersion();
    return v == null ? "0.1.0-SNAPSHOT" : v;
  }

  public Reply handle(String method, String path, Map<String, String> query, Body body, X509Certificate[] peer) throws java.io.IOException {
    String admin = authenticate(peer);
    try {
      return Auditor.actingAs("admin:" + admin, () -> route(admin, peer[0], method, path, query, body));
    } catch (java.io.IOException | ProblemException e) {
      throw e;
    } catch (SecurityException e) {
      throw new ProblemException(ErrorCode.UNAUTHENTICATED, "an admin client certificate of this issuer is required", e.getMessage());
    } catch (IllegalArgumentException e) {
      throw Json.malformed(e.getMessage());
    } catch (IllegalStateException e) {
      // conflicts with existing state (a duplicate name); the protocol has no separate code for them
      throw Json.malformed(e.getMessage());
    } catch (UnsupportedOperationException e) {
      throw ProblemException.of(ErrorCode.NOT_FOUND, "not available on this store: " + e.getMessage());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  // ---- routes: the one place the admin API's endpoints are declared

  /** What a route's handler gets: the calling admin, its certificate, the path's variables, the query and the body. */
  record Call(String admin, X509Certificate presented, Map<String, String> path, Map<String, String> query, Body body) {
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
  public static final List<Route> ROUTES =
      List.of(
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

  private Reply route(String admin, X509Certificate presented, String method, String path, Map<String, String> query, Body body) throws java.io.IOException {
    List<Route> matching = ROUTES.stream().filter(r -> r.spec().matches(path)).toList();
    if (matching.isEmpty()) {
      throw ProblemException.of(ErrorCode.NOT_FOUND, "no such admin endpoint");
    }
    Route route = matching.stream().filter(r -> r.method().equals(method)).findFirst().orElse(null);
    if (route == null) {
      List<String> allowed = matching.stream().map(Route::method).toList();
      throw ProblemException.of(ErrorCode.METHOD_NOT_ALLOWED, "use " + String.join(" or ", allowed) + " on this endpoint");
    }
    return route.action().run(this, new Call(admin, presented, route.spec().getPathParams(path), query, body));
  }

  // ---- status and the admin's own certificate

  private Reply status(Call c) {
    ObjectNode o = obj();
    o.put("version", version()).put("trust_domain", issuer.trustDomain()).put("ca_pin", issuer.caPin().toString()).put("url", issuer.url().toString()).put("admin", c.admin());
    ArrayNode m = o.putArray("join_methods");
    issuer.joinMethods().stream().sorted().forEach(m::add);
    return ok(o);
  }

  private Reply renewAdmin(Call c) throws java.io.IOException {
    AdminRequests.Renew r = Requests.read(c.json(), AdminRequests.Renew.class);
    PublicKey key = Keys.parse(r.publicKey());
    Duration ttl = Json.ttl(r.ttl(), "ttl", AdminCertificates.DEFAULT_TTL, AdminCertificates.MAX_TTL);
    X509Certificate cert = issuer.renewAdminCertificate(c.admin(), c.presented(), key, ttl);
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
    // bounded by the issuer's sign_max_ttl (ttl_exceeded above it); host names checked by the issuer
    Duration max = issuer.signMaxTtl();
    Duration ttl = Json.ttl(b.ttl(), "ttl", Duration.ofDays(30).compareTo(max) < 0 ? Duration.ofDays(30) : max, max);
    ObjectNode o = obj();
    switch (kind) {
      case "database_server" -> {
        List<X509Certificate> chain = issuer.signDatabaseServer(Keys.parse(Json.required(b.publicKey(), "public_key")), hosts, ttl);
        ArrayNode ch = o.putArray("certificate_chain");
        chain.forEach(x -> ch.add(Pem.encode(x)));
        o.put("not_after", chain.get(0).getNotAfter().toInstant().toString());
        o.put("client_ca", Pem.encode(Pem.certificate(issuer.authority().databaseClientAuthorities().get(0))));
      }
      case "ssh_host" -> {
        o.put("ssh_certificate", issuer.signSshHost(Json.required(b.sshPublicKey(), "ssh_public_key"), hosts, ttl));
        o.put("user_ca", issuer.authority().sshUserAuthorities().get(0));
      }
      default -> throw Json.malformed("field 'kind' must be database_server or ssh_host");
    }
    return ok(o);
  }

  // ---- admins

  private Reply listAdmins(Call c) {
    ArrayNode a = arr();
    issuer.admins().forEach(x -> a.addObject().put("name", x.name()).put("created_at", x.createdAt().toString()));
    return ok(a);
  }

  private Reply setAdmins(Call c) throws java.io.IOException {
    List<String> names = Requests.read(c.json(), AdminRequests.Admins.class).names();
    // the same rule as DELETE: the API never removes its caller, so a list that keeps the
    // caller also always keeps an admin with a usable certificate
    if (!names.contains(c.admin())) {
      throw Json.malformed("the admin list must keep the calling admin '" + c.admin() + "': an admin cannot remove itself; " + SELF_REMOVAL);
    }
    Issuer.AdminChanges changes = issuer.syncAdmins(names);
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
    if (!issuer.removeAdmin(name)) {
      throw notFound("admin", name);
    }
    return new Reply(204, null);
  }

  // ---- bots

  private Reply listBots(Call c) {
    ArrayNode a = arr();
    issuer.bots().forEach(bt -> a.add(bot(bt)));
    return ok(a);
  }

  private Reply getBot(Call c) {
    String name = c.var("name");
    return ok(bot(issuer.bot(name).orElseThrow(() -> notFound("bot", name))));
  }

  private Reply updateBot(Call c) throws java.io.IOException {
    return ok(bot(updateBot(c.var("name"), c.json())));
  }

  private Reply deleteBot(Call c) {
    String name = c.var("name");
    if (!issuer.deleteBot(name)) {
      throw notFound("bot", name);
    }
    return new Reply(204, null);
  }

  // ---- roles

  private Reply listRoles(Call c) {
    ArrayNode a = arr();
    issuer.roles().forEach(r -> a.add(Resources.roleJson(r)));
    return ok(a);
  }

  private Reply createRole(Call c) throws java.io.IOException {
    Role role = Resources.role(c.json());
    return new Reply(201, Resources.roleJson(issuer.createRole(role)));
  }

  private Reply getRole(Call c) {
    String name = c.var("name");
    return ok(Resources.roleJson(issuer.role(name).orElseThrow(() -> notFound("role", name))));
  }

  private Reply putRole(Call c) throws java.io.IOException {
    String name = c.var("name");
    Role role = Resources.role(c.json());
    if (!role.name().equals(name)) {
      throw Json.malformed("the role resource is named '" + Engine.printable(role.name()) + "', not '" + Engine.printable(name) + "' as in the path; a role cannot be renamed");
    }
    return ok(Resources.roleJson(issuer.updateRole(role).orElseThrow(() -> notFound("role", name))));
  }

  private Reply deleteRole(Call c) {
    String name = c.var("name");
    if (!issuer.deleteRole(name)) {
      throw notFound("role", name);
    }
    return new Reply(204, null);
  }

  // ---- tokens

  private Reply listTokens(Call c) {
    ArrayNode a = arr();
    issuer.tokens().forEach(t -> a.add(token(t)));
    return ok(a);
  }

  private Reply createToken(Call c) throws java.io.IOException {
    Resources.TokenSpec spec = Resources.token(c.json(), clock.instant(), Duration.ofHours(1));
    Issuer.CreatedToken created = issuer.createToken(spec.name(), spec.bot(), spec.joinMethod(), spec.expires(), spec.rules());
    ObjectNode o = token(created.token());
    o.put("token", created.name());
    return new Reply(201, o);
  }

  private Reply deleteToken(Call c) {
    String ref = c.var("ref");
    Optional<Token> match = findToken(ref);
    if (match.isEmpty() || !issuer.deleteToken(match.get().id())) {
      throw notFound("token", ref);
    }
    return new Reply(204, null);
  }

  // ---- instances

  private Reply listInstances(Call c) {
    String bot = c.query().get("bot");
    List<String> bots = new ArrayList<>();
    if (bot != null) {
      issuer.bot(bot).orElseThrow(() -> notFound("bot", bot));
      bots.add(bot);
    } else {
      issuer.bots().forEach(b -> bots.add(b.name()));
    }
    ArrayNode a = arr();
    for (String b : bots) {
      issuer.instances(b).forEach(i -> a.add(instance(i)));
    }
    return ok(a);
  }

  private Reply getInstance(Call c) {
    String bot = c.var("bot");
    String id = c.var("id");
    BotInstance i = issuer.instance(id).filter(x -> x.bot().equals(bot)).orElseThrow(() -> notFound("instance", bot + "/" + id));
    return ok(instance(i));
  }

  // ---- locks

  private Reply listLocks(Call c) {
    ArrayNode a = arr();
    Instant now = clock.instant();
    issuer.locks().forEach(l -> a.add(lock(l, now)));
    return ok(a);
  }

  private Reply createLock(Call c) throws java.io.IOException {
    return new Reply(201, lock(issuer.lock(lockFrom(c.json())), clock.instant()));
  }

  private Reply removeLock(Call c) {
    String id = c.var("id");
    if (!issuer.removeLock(id)) {
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
    Instant before = pointInTime(Requests.read(c.json(), AdminRequests.Prune.class).before(), "before");
    ObjectNode o = obj();
    o.put("removed", issuer.pruneAudit(before));
    return ok(o);
  }

  // ---- authentication

  private String authenticate(X509Certificate[] peer) {
    String name = AdminCertificates.adminName(peer, ca, issuer.trustDomain(), clock.instant());
    Optional<String> refusal;
    try {
      // recorded and not removed, not older than its record, not locked (nor the certificate it was renewed from)
      refusal = issuer.adminRefusal(name, peer[0]);
    } catch (UnsupportedOperationException e) {
      if (!warnedNoAdminStore) {
        warnedNoAdminStore = true;
        LOG.warn("the store does not record admin identities; any valid admin certificate of the issuer authority is accepted");
      }
      return name;
    }
    if (refusal.isPresent()) {
      throw new ProblemException(ErrorCode.UNAUTHENTICATED, "an admin client certificate of this issuer is required", refusal.get());
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
    Bot bot = issuer.createBot(name, roles, traits);
    Issuer.CreatedToken token = issuer.createToken(null, bot.name(), "token", clock.instant().plus(ttl), Map.of());
    ObjectNode o = obj();
    o.set("bot", bot(bot));
    o.put("token", token.name());
    o.put("token_id", token.token().shortId());
    o.put("token_expires_at", token.token().expiresAt().toString());
    o.put("ca_pin", issuer.caPin().toString());
    o.put("issuer", issuer.url().toString());
    return new Reply(201, o);
  }

  /** Refuses (not_found) a role that is not stored, as creation does, before anything changes. */
  private void requireRoles(List<String> roles) {
    for (String r : roles) {
      boolean exists;
      try {
        exists = issuer.role(r).isPresent();
      } catch (UnsupportedOperationException e) {
        exists = true;
      }
      if (!exists) {
        throw ProblemException.of(ErrorCode.NOT_FOUND, "no role named '" + Engine.printable(r) + "'; create it first with 'issuer roles create -f role.yaml'");
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
        throw Json.malformed("unknown field '" + Engine.printable(f) + "'; a bot update takes roles, logins and traits");
      }
    });
    if (!b.has("roles") && !b.has("logins") && !b.has("traits")) {
      throw Json.malformed("a bot update must give at least one of roles, logins and traits");
    }
    AdminRequests.BotUpdate update = Requests.read(b, AdminRequests.BotUpdate.class);
    List<String> roles = b.has("roles") ? update.roles() : null;
    List<String> logins = b.has("logins") ? update.logins() : null;
    Map<String, List<String>> traits = b.has("traits") ? update.traits() : null;
    issuer.bot(name).orElseThrow(() -> notFound("bot", name));
    if (roles != null) {
      requireRoles(roles);
    }
    // a bot deleted or a role deleted meanwhile: the transaction sees it
    return issuer.updateBot(name, roles, logins, traits).orElseThrow(() -> notFound("bot", name));
  }

  // ---- tokens

  private Optional<Token> findToken(String ref) {
    String hashed = Hashes.tokenId(ref);
    List<Token> all = issuer.tokens();
    for (Token t : all) {
      if (t.id().equals(ref) || t.id().equals(hashed) || ref.equals(t.name())) {
        return Optional.of(t);
      }
    }
    List<Token> prefixed = all.stream().filter(t -> ref.length() >= 8 && t.id().startsWith(ref)).toList();
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
          default -> throw Json.malformed("target must be one of bot, instance, token, identity, serial");
        };
    String ttl = b.ttl();
    if (ttl != null) {
      try {
        Duration d = GoDuration.parse(ttl);
        lock = lock.expiringAt(Json.recordable(clock.instant(), d, 1, "field 'ttl' is too long: the lock would end after year 9999"));
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
        throw Json.malformed(field + " must be an RFC 3339 time or a duration such as 1h (that long ago)");
      }
      return Json.recordable(clock.instant(), d, -1, field + " is too long ago: it reaches before year 1");
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
    for (AuditEvent e : issuer.auditEvents(new AuditQuery(since, query.get("type"), query.get("bot"), limit))) {
      ObjectNode o = a.addObject();
      o.put("id", e.id()).put("time", e.time().toString()).put("type", e.type()).put("bot", e.bot()).put("instance_id", e.instanceId()).put("outcome", e.outcome());
      ObjectNode d = o.putObject("detail");
      e.detail().entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(x -> d.put(x.getKey(), x.getValue()));
    }
    return a;
  }

  /**
   * {@link Issuer#verifyAudit()}: the store's hash chain, with snake_case member names; with
   * {@code pin} ({@code SEQ:HASH}, a head printed by an earlier verification) also that the chain
   * still holds that row.
   */
  private JsonNode verifyAudit(String pin) {
    AuditVerification v;
    if (pin == null) {
      v = issuer.verifyAudit();
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
        throw Json.malformed("pin must be SEQUENCE:HASH as printed by a verification (a number, a colon, 64 lower-case hex digits)");
      }
      v = issuer.verifyAudit(seq, hash);
    }
    JsonNode tree = Protocol.toTree(v);
    ObjectNode out = obj();
    tree.fields().forEachRemaining(e -> out.set(e.getKey().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT), e.getValue()));
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
    o.put("id", t.id()).put("short_id", t.shortId()).put("name", t.name()).put("bot", t.bot()).put("join_method", t.joinMethod());
    o.put("created_at", t.createdAt().toString()).put("expires_at", t.expiresAt().toString());
    o.put("consumed_at", t.consumedAt() == null ? null : t.consumedAt().toString());
    o.set("rules", Protocol.toTree(t.rules()));
    return o;
  }

  private static ObjectNode instance(BotInstance i) {
    ObjectNode o = obj();
    o.put("id", i.id()).put("bot", i.bot()).put("join_method", i.joinMethod()).put("created_at", i.createdAt().toString());
    o.put("generation", i.generation()).put("locked", i.locked());
    o.set("initial_authentication", authentication(i.initialAuthentication()));
    o.set("latest_authentication", authentication(i.latestAuthentication()));
    Heartbeat h = i.latestHeartbeat();
    if (h == null) {
      o.putNull("latest_heartbeat");
    } else {
      ObjectNode hb = o.putObject("latest_heartbeat");
      hb.put("received_at", h.receivedAt().toString()).put("hostname", h.hostname()).put("version", h.version()).put("uptime_seconds", h.uptimeSeconds()).put("one_shot", h.oneShot());
      ObjectNode outs = hb.putObject("outputs");
      h.outputs().forEach(outs::put);
    }
    return o;
  }

  private static ObjectNode authentication(Authentication a) {
    ObjectNode o = obj();
    o.put("time", a.time().toString()).put("remote_address", a.remoteAddress()).put("join_method", a.joinMethod()).put("generation", a.generation());
    ObjectNode m = o.putObject("metadata");
    a.metadata().forEach(m::put);
    return o;
  }

  private static ObjectNode lock(Lock l, Instant now) {
    ObjectNode o = obj();
    o.put("id", l.id()).put("target", l.target().label()).put("value", l.value()).put("reason", l.reason());
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
    return ProblemException.of(ErrorCode.NOT_FOUND, "no " + what + " '" + Engine.printable(name) + "'");
  }
}
