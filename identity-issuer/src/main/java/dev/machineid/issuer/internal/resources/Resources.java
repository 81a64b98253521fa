package dev.machineid.issuer.internal.resources;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.internal.Json;
import dev.machineid.issuer.internal.join.IdentityDecisions;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes the docs/architecture.md §9 resources ({@code kind: role}, {@code kind: token}) in their JSON
 * form (the CLI turns YAML into JSON). Strict: unknown keys and wrong types are refused with the
 * path of the offending key, as {@code malformed_request}.
 */
public final class Resources {
  private static final Set<String> ROLE_ALLOW = Set.of(
      "logins",
      "db_users",
      "kubernetes_groups",
      "kubernetes_users",
      "host_names",
      "jwt_audiences",
      "allow_system_groups");

  private Resources() {}

  /** A role resource's content. */
  public static Role role(ObjectNode r) {
    header(r, "role", Set.of("kind", "version", "metadata", "spec"));
    String name = name(r, true);
    ObjectNode spec = object(r, "spec", "spec", true);
    only(spec, "spec", Set.of("allow", "options"));
    ObjectNode allow = object(spec, "allow", "spec.allow", false);
    only(allow, "spec.allow", ROLE_ALLOW);
    ObjectNode options = object(spec, "options", "spec.options", false);
    only(options, "spec.options", Set.of("max_ttl", "allow_system_groups"));
    Duration maxTtl = null;
    if (options.hasNonNull("max_ttl")) {
      String s = string(options, "max_ttl", "spec.options.max_ttl");
      try {
        maxTtl = GoDuration.parse(s);
      } catch (IllegalArgumentException e) {
        throw Json.malformed("spec.options.max_ttl must be a duration such as 30m or 1h, got '"
            + IdentityDecisions.printable(s) + "'");
      }
    }
    boolean system = bool(allow, "allow_system_groups", "spec.allow.allow_system_groups")
        || bool(options, "allow_system_groups", "spec.options.allow_system_groups");
    try {
      return new Role(
          name,
          strings(allow, "logins"),
          strings(allow, "db_users"),
          strings(allow, "kubernetes_groups"),
          strings(allow, "kubernetes_users"),
          strings(allow, "host_names"),
          strings(allow, "jwt_audiences"),
          system,
          maxTtl,
          null);
    } catch (IllegalArgumentException e) {
      throw Json.malformed(e.getMessage());
    }
  }

  public static ObjectNode roleJson(Role role) {
    ObjectNode out = Protocol.nodes().objectNode();
    out.put("kind", "role").put("version", "v1");
    ObjectNode md = out.putObject("metadata").put("name", role.name());
    if (role.createdAt() != null) {
      md.put("created_at", role.createdAt().toString());
    }
    ObjectNode allow = out.putObject("spec").putObject("allow");
    put(allow, "logins", role.logins());
    put(allow, "db_users", role.dbUsers());
    put(allow, "kubernetes_groups", role.kubernetesGroups());
    put(allow, "kubernetes_users", role.kubernetesUsers());
    put(allow, "host_names", role.hostNames());
    put(allow, "jwt_audiences", role.jwtAudiences());
    if (role.allowSystemGroups()) {
      allow.put("allow_system_groups", true);
    }
    if (role.maxTtl() != null) {
      ((ObjectNode) out.get("spec"))
          .putObject("options")
          .put("max_ttl", GoDuration.format(role.maxTtl()));
    }
    return out;
  }

  /** A token resource's content; {@code now} resolves {@code spec.ttl}. */
  public record TokenSpec(
      String name, String bot, String joinMethod, Instant expires, Map<String, Object> rules) {}

  public static TokenSpec token(ObjectNode r, Instant now, Duration defaultTtl) {
    header(r, "token", Set.of("kind", "version", "metadata", "spec"));
    String name = name(r, false);
    ObjectNode spec = object(r, "spec", "spec", true);
    String bot = string(spec, "bot_name", "spec.bot_name");
    String method = string(spec, "join_method", "spec.join_method");
    if (!method.matches("[a-z0-9_-]{1,32}")) {
      throw Json.malformed("spec.join_method must be a join method name such as token or github");
    }
    only(spec, "spec", Set.of("bot_name", "join_method", "expires", "ttl", method));
    Instant expires;
    if (spec.hasNonNull("expires") && spec.hasNonNull("ttl")) {
      throw Json.malformed("give spec.expires or spec.ttl, not both");
    } else if (spec.hasNonNull("expires")) {
      String s = string(spec, "expires", "spec.expires");
      try {
        expires = Json.recordable(
            Instant.parse(s),
            "spec.expires must lie between years 1 and 9999, got '" + IdentityDecisions.printable(s)
                + "'");
      } catch (DateTimeParseException e) {
        throw Json.malformed(
            "spec.expires must be an RFC 3339 UTC time such as 2026-12-01T00:00:00Z, got '"
                + IdentityDecisions.printable(s) + "'");
      }
    } else if (spec.hasNonNull("ttl")) {
      String s = string(spec, "ttl", "spec.ttl");
      Duration d;
      try {
        d = GoDuration.parse(s);
      } catch (IllegalArgumentException e) {
        throw Json.malformed("spec.ttl must be a duration such as 30m or 24h, got '"
            + IdentityDecisions.printable(s) + "'");
      }
      expires = Json.recordable(
          now, d, 1, "spec.ttl is too long: the token would expire after year 9999");
    } else {
      expires = now.plus(defaultTtl);
    }
    Map<String, Object> rules = new LinkedHashMap<>();
    if (spec.has(method)) {
      ObjectNode block = object(spec, method, "spec." + method, true);
      @SuppressWarnings("unchecked")
      Map<String, Object> m = Protocol.convert(block, LinkedHashMap.class);
      rules.putAll(m);
    }
    return new TokenSpec(name, bot, method, expires, rules);
  }

  // ---- helpers

  private static void header(ObjectNode r, String kind, Set<String> keys) {
    only(r, "", keys);
    String k = string(r, "kind", "kind");
    if (!kind.equals(k)) {
      throw Json.malformed(
          "kind must be '" + kind + "', got '" + IdentityDecisions.printable(k) + "'");
    }
    if (r.has("version") && !"v1".equals(r.get("version").asText())) {
      throw Json.malformed("version must be v1");
    }
  }

  private static String name(ObjectNode r, boolean required) {
    ObjectNode md = object(r, "metadata", "metadata", required);
    only(md, "metadata", Set.of("name", "description", "labels"));
    if (!md.hasNonNull("name")) {
      if (required) {
        throw Json.malformed("missing metadata.name");
      }
      return null;
    }
    return string(md, "name", "metadata.name");
  }

  private static void only(ObjectNode o, String path, Set<String> allowed) {
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        throw Json.malformed(
            "unknown key '" + (path.isEmpty() ? "" : path + ".") + IdentityDecisions.printable(f)
                + "'; expected one of " + new java.util.TreeSet<>(allowed));
      }
    }
  }

  private static ObjectNode object(ObjectNode o, String field, String path, boolean required) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      if (required) {
        throw Json.malformed("missing " + path);
      }
      return Protocol.nodes().objectNode();
    }
    if (!n.isObject()) {
      throw Json.malformed(path + " must be a mapping");
    }
    return (ObjectNode) n;
  }

  private static String string(ObjectNode o, String field, String path) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      throw Json.malformed("missing " + path);
    }
    if (!n.isTextual() || n.textValue().isBlank()) {
      throw Json.malformed(path + " must be a non-empty string");
    }
    return n.textValue();
  }

  private static boolean bool(ObjectNode o, String field, String path) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return false;
    }
    if (!n.isBoolean()) {
      throw Json.malformed(path + " must be true or false");
    }
    return n.booleanValue();
  }

  private static List<String> strings(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw Json.malformed("spec.allow." + field + " must be a list of strings");
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw Json.malformed("spec.allow." + field + " must be a list of strings");
      }
      out.add(e.textValue());
    }
    return out;
  }

  private static void put(ObjectNode o, String field, List<String> values) {
    ArrayNode a = o.putArray(field);
    values.forEach(a::add);
  }
}
