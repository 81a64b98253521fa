package dev.machineid.issuer.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.ErrorCode;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code /v1/admin/...}: bots, roles, tokens, instances, locks, audit, status and the admin's own
 * renewal, over mTLS with an admin certificate ({@link AdminCertificates}). JSON in and out
 * (snake_case); failures are {@link ProblemException}s. Routes:
 *
 * <pre>
 * GET    /v1/admin/status                      version, trust domain, CA pin, join methods
 * POST   /v1/admin/renew                       {public_key, ttl?} -> {certificate_chain, not_after}
 * GET    /v1/admin/admins                      PUT {names} (make the recorded admins exactly these)
 * DELETE /v1/admin/admins/{name}
 * GET    /v1/admin/bots                        POST {name, roles, logins?, traits?, token_ttl?}
 * GET    /v1/admin/bots/{name}                 DELETE /v1/admin/bots/{name}
 * PATCH  /v1/admin/bots/{name}                 {roles?, logins?, traits?} (at least one)
 * GET    /v1/admin/roles                       POST a role resource
 * GET    /v1/admin/roles/{name}                DELETE /v1/admin/roles/{name}
 * PUT    /v1/admin/roles/{name}                a role resource of that name
 * GET    /v1/admin/tokens                      POST a token resource
 * DELETE /v1/admin/tokens/{id, id prefix or name}
 * GET    /v1/admin/instances[?bot=B]           GET /v1/admin/instances/{bot}/{id}
 * GET    /v1/admin/locks                       POST {target, value, reason, ttl?}
 * DELETE /v1/admin/locks/{id}
 * GET    /v1/admin/audit[?since=&type=&bot=&limit=]
 * POST   /v1/admin/audit/verify[?pin=SEQ:HASH]
 * POST   /v1/admin/audit/prune          {before: RFC 3339 or a duration ago}
 * </pre>
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
    List<String> seg = List.of(path.substring(PREFIX.length()).split("/", -1));
    if (seg.stream().anyMatch(String::isEmpty)) {
      throw ProblemException.of(ErrorCode.NOT_FOUND, "no such admin endpoint");
    }
    try {
      return Auditor.actingAs("admin:" + admin, () -> route(admin, peer[0], method, seg, query, body));
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

  private Reply route(String admin, X509Certificate presented, String method, List<String> seg, Map<String, String> query, Body body) throws java.io.IOException {
    String resource = seg.get(0);
    int n = seg.size();
    switch (resource) {
      case "status" -> {
        one(n, 1);
        allow(method, "GET");
        ObjectNode o = obj();
        o.put("version", version()).put("trust_domain", issuer.trustDomain()).put("ca_pin", issuer.caPin().toString()).put("url", issuer.url().toString()).put("admin", admin);
        ArrayNode m = o.putArray("join_methods");
        issuer.joinMethods().stream().sorted().forEach(m::add);
        return ok(o);
      }
      case "renew" -> {
        one(n, 1);
        allow(method, "POST");
        ObjectNode b = body.read();
        PublicKey key = Keys.parse(Json.text(b, "public_key"));
        Duration ttl = Json.ttl(b, "ttl", AdminCertificates.DEFAULT_TTL, AdminCertificates.MAX_TTL);
        X509Certificate cert = issuer.renewAdminCertificate(admin, presented, key, ttl);
        ObjectNode o = obj();
        o.putArray("certificate_chain").add(Pem.encode(cert)).add(Pem.encode(ca.certificate()));
        o.put("not_after", cert.getNotAfter().toInstant().toString());
        return ok(o);
      }
      case "sign" -> {
        // issuer sign: certificates for targets (database servers, SSH hosts), with their own longer TTL
        one(n, 1);
        allow(method, "POST");
        ObjectNode b = body.read();
        String kind = Json.text(b, "kind");
        List<String> hosts = CredentialService.stringList(b, "host_names");
        if (hosts.isEmpty()) {
          throw Json.malformed("field 'host_names' must name at least one host");
        }
        // bounded by the issuer's sign_max_ttl (ttl_exceeded above it); host names checked by the issuer
        Duration max = issuer.signMaxTtl();
        Duration ttl = Json.ttl(b, "ttl", Duration.ofDays(30).compareTo(max) < 0 ? Duration.ofDays(30) : max, max);
        ObjectNode o = obj();
        switch (kind) {
          case "database_server" -> {
            List<X509Certificate> chain = issuer.signDatabaseServer(Keys.parse(Json.text(b, "public_key")), hosts, ttl);
            ArrayNode c = o.putArray("certificate_chain");
            chain.forEach(x -> c.add(Pem.encode(x)));
            o.put("not_after", chain.get(0).getNotAfter().toInstant().toString());
            o.put("client_ca", Pem.encode(Pem.certificate(issuer.authority().databaseClientAuthorities().get(0))));
          }
          case "ssh_host" -> {
            o.put("ssh_certificate", issuer.signSshHost(Json.text(b, "ssh_public_key"), hosts, ttl));
            o.put("user_ca", issuer.authority().sshUserAuthorities().get(0));
          }
          default -> throw Json.malformed("field 'kind' must be database_server or ssh_host");
        }
        return ok(o);
      }
      case "admins" -> {
        if (n == 1) {
          if (method.equals("GET")) {
            ArrayNode a = arr();
            issuer.admins().forEach(x -> a.addObject().put("name", x.name()).put("created_at", x.createdAt().toString()));
            return ok(a);
          }
          allow(method, "PUT");
          List<String> names = stringList(body.read(), "names");
          // the same rule as DELETE: the API never removes its caller, so a list that keeps the
          // caller also always keeps an admin with a usable certificate
          if (!names.contains(admin)) {
            throw Json.malformed("the admin list must keep the calling admin '" + admin + "': an admin cannot remove itself; " + SELF_REMOVAL);
          }
          Issuer.AdminChanges changes = issuer.syncAdmins(names);
          ObjectNode o = obj();
          changes.added().forEach(o.putArray("added")::add);
          changes.removed().forEach(o.putArray("removed")::add);
          return ok(o);
        }
        one(n, 2);
        allow(method, "DELETE");
        String name = seg.get(1);
        if (name.equals(admin)) {
          throw Json.malformed("an admin cannot remove itself; " + SELF_REMOVAL);
        }
        if (!issuer.removeAdmin(name)) {
          throw notFound("admin", name);
        }
        return new Reply(204, null);
      }
      case "bots" -> {
        if (n == 1) {
          if (method.equals("GET")) {
            ArrayNode a = arr();
            issuer.bots().forEach(bt -> a.add(bot(bt)));
            return ok(a);
          }
          allow(method, "POST");
          return createBot(body.read());
        }
        one(n, 2);
        String name = seg.get(1);
        if (method.equals("GET")) {
          return ok(bot(issuer.bot(name).orElseThrow(() -> notFound("bot", name))));
        }
        if (method.equals("PATCH")) {
          return ok(bot(updateBot(name, body.read())));
        }
        allow(method, "DELETE");
        if (!issuer.deleteBot(name)) {
          throw notFound("bot", name);
        }
        return new Reply(204, null);
      }
      case "roles" -> {
        if (n == 1) {
          if (method.equals("GET")) {
            ArrayNode a = arr();
            issuer.roles().forEach(r -> a.add(Resources.roleJson(r)));
            return ok(a);
          }
          allow(method, "POST");
          Role role = Resources.role(body.read());
          return new Reply(201, Resources.roleJson(issuer.createRole(role)));
        }
        one(n, 2);
        String name = seg.get(1);
        if (method.equals("GET")) {
          return ok(Resources.roleJson(issuer.role(name).orElseThrow(() -> notFound("role", name))));
        }
        if (method.equals("PUT")) {
          Role role = Resources.role(body.read());
          if (!role.name().equals(name)) {
            throw Json.malformed("the role resource is named '" + Engine.printable(role.name()) + "', not '" + Engine.printable(name) + "' as in the path; a role cannot be renamed");
          }
          return ok(Resources.roleJson(issuer.updateRole(role).orElseThrow(() -> notFound("role", name))));
        }
        allow(method, "DELETE");
        if (!issuer.deleteRole(name)) {
          throw notFound("role", name);
        }
        return new Reply(204, null);
      }
      case "tokens" -> {
        if (n == 1) {
          if (method.equals("GET")) {
            ArrayNode a = arr();
            issuer.tokens().forEach(t -> a.add(token(t)));
            return ok(a);
          }
          allow(method, "POST");
          Resources.TokenSpec spec = Resources.token(body.read(), clock.instant(), Duration.ofHours(1));
          Issuer.CreatedToken created = issuer.createToken(spec.name(), spec.bot(), spec.joinMethod(), spec.expires(), spec.rules());
          ObjectNode o = token(created.token());
          o.put("token", created.name());
          return new Reply(201, o);
        }
        one(n, 2);
        allow(method, "DELETE");
        String ref = seg.get(1);
        Optional<Token> match = findToken(ref);
        if (match.isEmpty() || !issuer.deleteToken(match.get().id())) {
          throw notFound("token", ref);
        }
        return new Reply(204, null);
      }
      case "instances" -> {
        allow(method, "GET");
        if (n == 1) {
          String bot = query.get("bot");
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
        one(n, 3);
        String bot = seg.get(1);
        String id = seg.get(2);
        BotInstance i = issuer.instance(id).filter(x -> x.bot().equals(bot)).orElseThrow(() -> notFound("instance", bot + "/" + id));
        return ok(instance(i));
      }
      case "locks" -> {
        if (n == 1) {
          if (method.equals("GET")) {
            ArrayNode a = arr();
            Instant now = clock.instant();
            issuer.locks().forEach(l -> a.add(lock(l, now)));
            return ok(a);
          }
          allow(method, "POST");
          return new Reply(201, lock(issuer.lock(lockFrom(body.read())), clock.instant()));
        }
        one(n, 2);
        allow(method, "DELETE");
        if (!issuer.removeLock(seg.get(1))) {
          throw notFound("lock", seg.get(1));
        }
        return new Reply(204, null);
      }
      case "audit" -> {
        if (n == 2 && seg.get(1).equals("verify")) {
          allow(method, "POST");
          return ok(verifyAudit(query.get("pin")));
        }
        if (n == 2 && seg.get(1).equals("prune")) {
          allow(method, "POST");
          Instant before = pointInTime(Json.text(body.read(), "before"), "before");
          ObjectNode o = obj();
          o.put("removed", issuer.pruneAudit(before));
          return ok(o);
        }
        one(n, 1);
        allow(method, "GET");
        return ok(audit(query));
      }
      default -> throw ProblemException.of(ErrorCode.NOT_FOUND, "no such admin endpoint");
    }
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

  private Reply createBot(ObjectNode b) {
    String name = Json.text(b, "name");
    List<String> roles = stringList(b, "roles");
    Map<String, List<String>> traits = new LinkedHashMap<>();
    ObjectNode t = Json.optionalObject(b, "traits");
    t.fields().forEachRemaining(e -> traits.put(e.getKey(), stringList(t, e.getKey())));
    List<String> logins = stringList(b, "logins");
    if (!logins.isEmpty()) {
      traits.put("logins", logins);
    }
    Duration ttl = Json.ttl(b, "token_ttl", BOT_TOKEN_TTL, Duration.ofDays(7));
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
    List<String> roles = b.has("roles") ? stringList(b, "roles") : null;
    List<String> logins = b.has("logins") ? stringList(b, "logins") : null;
    Map<String, List<String>> traits = null;
    if (b.has("traits")) {
      traits = new LinkedHashMap<>();
      ObjectNode t = Json.optionalObject(b, "traits");
      for (java.util.Iterator<String> it = t.fieldNames(); it.hasNext(); ) {
        String k = it.next();
        traits.put(k, stringList(t, k));
      }
    }
    issuer.bot(name).orElseThrow(() -> notFound("bot", name));
    if (roles != null) {
      requireRoles(roles);
    }
    // a bot deleted or a role deleted meanwhile: the transaction sees it
    return issuer.updateBot(name, roles, logins, traits).orElseThrow(() -> notFound("bot", name));
  }

  private static List<String> stringList(ObjectNode b, String field) {
    JsonNode n = b.get(field);
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw Json.malformed("field '" + field + "' must be a list of strings");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual() || e.textValue().isBlank()) {
        throw Json.malformed("field '" + field + "' must be a list of non-empty strings");
      }
      out.add(e.textValue());
    }
    return out;
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

  private Lock lockFrom(ObjectNode b) {
    String target = Json.text(b, "target");
    String value = Json.text(b, "value");
    String reason = Json.optionalText(b, "reason");
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
    String ttl = Json.optionalText(b, "ttl");
    if (ttl != null) {
      try {
        lock = lock.expiringAt(clock.instant().plus(GoDuration.parse(ttl)));
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
      return Instant.parse(s);
    } catch (DateTimeParseException e) {
      try {
        return clock.instant().minus(GoDuration.parse(s));
      } catch (IllegalArgumentException e2) {
        throw Json.malformed(field + " must be an RFC 3339 time or a duration such as 1h (that long ago)");
      }
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
    JsonNode tree = Protocol.mapper().valueToTree(v);
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
    o.set("rules", Protocol.mapper().valueToTree(t.rules()));
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
    return Protocol.mapper().createObjectNode();
  }

  private static ArrayNode arr() {
    return Protocol.mapper().createArrayNode();
  }

  private static Reply ok(Object body) {
    return new Reply(200, body);
  }

  private static void one(int n, int expected) {
    if (n != expected) {
      throw ProblemException.of(ErrorCode.NOT_FOUND, "no such admin endpoint");
    }
  }

  private static void allow(String method, String allowed) {
    if (!allowed.equals(method)) {
      throw ProblemException.of(ErrorCode.METHOD_NOT_ALLOWED, "use " + allowed + " on this endpoint");
    }
  }

  private static ProblemException notFound(String what, String name) {
    return ProblemException.of(ErrorCode.NOT_FOUND, "no " + what + " '" + Engine.printable(name) + "'");
  }
}
