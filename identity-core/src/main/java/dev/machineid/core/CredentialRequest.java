package dev.machineid.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What role-scoped credential to keep fresh: its kind, the roles that allow it, its lifetime and its
 * target (database user, Kubernetes user and groups, SSH logins or host names, JWT audiences).
 * Immutable; made with {@link #builder(CredentialKind)}.
 */
public final class CredentialRequest {
  private final CredentialKind kind;
  private final String name;
  private final List<String> roles;
  private final Duration ttl;
  private final Map<String, Object> target;

  private CredentialRequest(Builder b) {
    this.kind = b.kind;
    this.name = b.name != null ? b.name : kind.wire() + ":" + String.join(",", b.roles);
    this.roles = List.copyOf(b.roles);
    this.ttl = b.ttl;
    Map<String, Object> t = new LinkedHashMap<>();
    b.target.forEach((k, v) -> t.put(k, v instanceof List<?> l ? List.copyOf(l) : v));
    this.target = Collections.unmodifiableMap(t);
  }

  public static Builder builder(CredentialKind kind) {
    return new Builder(Objects.requireNonNull(kind, "kind"));
  }

  /** A database client certificate for {@code databaseUser}, allowed by {@code roles}. */
  public static CredentialRequest database(String databaseUser, String... roles) {
    return builder(CredentialKind.DATABASE)
        .databaseUser(databaseUser)
        .roles(roles)
        .build();
  }

  public CredentialKind kind() {
    return kind;
  }

  /** The handle's name in the process-wide registry (used by driver adapters); defaults to kind and roles. */
  public String name() {
    return name;
  }

  public List<String> roles() {
    return roles;
  }

  /** The requested lifetime, or {@code null} for the issuer's default (capped by roles and the bot certificate). */
  public Duration ttl() {
    return ttl;
  }

  /** The kind's target fields in wire form, e.g. {@code database_user}. */
  public Map<String, Object> target() {
    return target;
  }

  @Override
  public String toString() {
    return "CredentialRequest{" + kind.wire() + ", name=" + name + ", roles=" + roles + ", target="
        + target + "}";
  }

  public static final class Builder {
    private final CredentialKind kind;
    private String name;
    private final List<String> roles = new ArrayList<>();
    private Duration ttl;
    private final Map<String, Object> target = new LinkedHashMap<>();

    private Builder(CredentialKind kind) {
      this.kind = kind;
    }

    public Builder name(String name) {
      Objects.requireNonNull(name, "name");
      if (name.isBlank()) {
        throw new IllegalArgumentException("credential name must not be blank");
      }
      if (this.name != null) {
        throw new IllegalStateException("name is already set");
      }
      this.name = name;
      return this;
    }

    public Builder roles(String... roles) {
      for (String r : roles) {
        Objects.requireNonNull(r, "role");
        if (r.isBlank()) {
          throw new IllegalArgumentException("role name must not be blank");
        }
        this.roles.add(r);
      }
      return this;
    }

    public Builder ttl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      if (ttl.toSeconds() < 1 || ttl.compareTo(Duration.ofHours(1)) > 0) {
        throw new IllegalArgumentException(
            "a role-scoped credential lives between 1s and 1h, got " + ttl);
      }
      this.ttl = ttl;
      return this;
    }

    public Builder databaseUser(String user) {
      return put("database_user", Objects.requireNonNull(user, "databaseUser"));
    }

    public Builder kubernetesUser(String user) {
      return put("kubernetes_user", Objects.requireNonNull(user, "kubernetesUser"));
    }

    public Builder kubernetesGroups(String... groups) {
      return put("kubernetes_groups", List.of(groups));
    }

    public Builder logins(String... logins) {
      return put("logins", List.of(logins));
    }

    public Builder hostNames(String... hostNames) {
      return put("host_names", List.of(hostNames));
    }

    public Builder audiences(String... audiences) {
      return put("audiences", List.of(audiences));
    }

    /** Any other target field, in wire form. */
    public Builder target(String key, Object value) {
      return put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
    }

    private Builder put(String key, Object value) {
      if (target.containsKey(key)) {
        throw new IllegalStateException(key + " is already set");
      }
      target.put(key, value);
      return this;
    }

    public CredentialRequest build() {
      if (roles.isEmpty()
          && kind != CredentialKind.IDENTITY
          && kind != CredentialKind.APPLICATION) {
        throw new IllegalArgumentException(
            "a " + kind.wire() + " credential needs at least one role");
      }
      if (kind == CredentialKind.DATABASE && !target.containsKey("database_user")) {
        throw new IllegalArgumentException("a database credential needs databaseUser(…)");
      }
      if (kind == CredentialKind.SSH_HOST && !target.containsKey("host_names")) {
        throw new IllegalArgumentException("an ssh_host credential needs hostNames(…)");
      }
      if (kind == CredentialKind.JWT_SVID && !target.containsKey("audiences")) {
        throw new IllegalArgumentException("a jwt_svid credential needs audiences(…)");
      }
      return new CredentialRequest(this);
    }
  }
}
