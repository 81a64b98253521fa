package dev.machineid.issuer.internal.admin;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import dev.machineid.issuer.internal.http.Requests;
import dev.machineid.issuer.internal.resources.Resources;
import java.util.List;
import java.util.Map;

/**
 * The bodies of the admin API's calls, read by {@link Requests} (wrong JSON types are refused
 * naming the field) and validated in their constructors, whose {@link IllegalArgumentException}
 * names the field too. Role and token resources have their own strict reader ({@link Resources}),
 * which also refuses unknown keys.
 */
public final class AdminRequests {
  private AdminRequests() {}

  /** {@code POST /v1/admin/renew}. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record Renew(String publicKey, String ttl) {
    public Renew {
      required(publicKey, "public_key");
    }
  }

  /** {@code POST /v1/admin/sign}: a certificate for a target (a database server or an SSH host). */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record Sign(
      String kind, List<String> hostNames, String publicKey, String sshPublicKey, String ttl) {
    public Sign {
      required(kind, "kind");
    }
  }

  /** {@code PUT /v1/admin/admins}: the recorded admins, exactly. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record Admins(List<String> names) {
    public Admins {
      names = strings(names, "names");
    }
  }

  /** {@code POST /v1/admin/bots}. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record NewBot(
      String name,
      List<String> roles,
      List<String> logins,
      Map<String, List<String>> traits,
      String tokenTtl) {
    public NewBot {
      required(name, "name");
      roles = strings(roles, "roles");
      logins = strings(logins, "logins");
      traits = traitsOf(traits);
    }
  }

  /**
   * {@code PATCH /v1/admin/bots/{name}}: each field replaces the current value when given (JSON
   * null clears it); whether a field was given at all is read from the body.
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record BotUpdate(
      List<String> roles, List<String> logins, Map<String, List<String>> traits) {
    public BotUpdate {
      roles = strings(roles, "roles");
      logins = strings(logins, "logins");
      traits = traitsOf(traits);
    }
  }

  /** {@code POST /v1/admin/locks}. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record NewLock(String target, String value, String reason, String ttl) {
    public NewLock {
      required(target, "target");
      required(value, "value");
    }
  }

  /** {@code POST /v1/admin/audit/prune}. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  public record Prune(String before) {
    public Prune {
      required(before, "before");
    }
  }

  private static void required(String value, String field) {
    if (value == null) {
      throw new IllegalArgumentException("missing required field '" + field + "'");
    }
    if (value.isEmpty()) {
      throw new IllegalArgumentException("field '" + field + "' must not be empty");
    }
  }

  /** A list of non-empty strings; absent or JSON null is empty. */
  private static List<String> strings(List<String> values, String field) {
    if (values == null) {
      return List.of();
    }
    for (String v : values) {
      if (v == null || v.isBlank()) {
        throw new IllegalArgumentException(
            "field '" + field + "' must be a list of non-empty strings");
      }
    }
    return List.copyOf(values);
  }

  private static Map<String, List<String>> traitsOf(Map<String, List<String>> traits) {
    if (traits == null) {
      return Map.of();
    }
    Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    traits.forEach((k, v) -> out.put(k, strings(v, "traits." + k)));
    return java.util.Collections.unmodifiableMap(out);
  }
}
