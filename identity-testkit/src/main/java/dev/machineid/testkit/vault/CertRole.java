package dev.machineid.testkit.vault;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A role of the simulated cert auth method, as {@code vault write auth/cert/certs/<name> …}
 * configures it. Constraints are Vault's glob patterns ({@code *} matches any run of characters,
 * {@code /} included); an empty list places no constraint.
 *
 * <pre>{@code
 * CertRole.builder("orders")
 *     .allowedUriSans("spiffe://example.org/bot/*")
 *     .policies("orders-read")
 *     .tokenTtl(Duration.ofMinutes(20))
 *     .build();
 * }</pre>
 *
 * @param name the role name, the {@code name} a login may ask for
 * @param allowedCommonNames {@code allowed_common_names}: matched against the subject CN, DNS and
 *     e-mail SANs of the client certificate
 * @param allowedUriSans {@code allowed_uri_sans}: matched against the URI SANs
 * @param policies {@code token_policies}; the token also gets {@code default}, as Vault adds it
 * @param tokenTtl {@code token_ttl}: the token's lease
 */
public record CertRole(
    String name,
    List<String> allowedCommonNames,
    List<String> allowedUriSans,
    List<String> policies,
    Duration tokenTtl) {

  /** Vault's system default token TTL (768 h), used when a role sets none. */
  public static final Duration DEFAULT_TOKEN_TTL = Duration.ofHours(768);

  public CertRole {
    Objects.requireNonNull(name, "name");
    if (name.isBlank() || name.contains("/")) {
      throw new IllegalArgumentException(
          "role name must be non-blank without '/', got '" + name + "'");
    }
    allowedCommonNames =
        List.copyOf(Objects.requireNonNull(allowedCommonNames, "allowedCommonNames"));
    allowedUriSans = List.copyOf(Objects.requireNonNull(allowedUriSans, "allowedUriSans"));
    policies = List.copyOf(Objects.requireNonNull(policies, "policies"));
    Objects.requireNonNull(tokenTtl, "tokenTtl");
    if (tokenTtl.isNegative() || tokenTtl.isZero() || tokenTtl.toMillis() % 1000 != 0) {
      throw new IllegalArgumentException(
          "tokenTtl must be a positive whole number of seconds, got " + tokenTtl);
    }
  }

  /** A builder for a role that allows any certificate the trusted CAs validate, with Vault's default TTL. */
  public static Builder builder(String name) {
    return new Builder(name);
  }

  /** Builds a {@link CertRole}; each setting may be given once. */
  public static final class Builder {
    private final String name;
    private List<String> allowedCommonNames;
    private List<String> allowedUriSans;
    private List<String> policies;
    private Duration tokenTtl;

    private Builder(String name) {
      this.name = Objects.requireNonNull(name, "name");
    }

    /** {@code allowed_common_names}, e.g. {@code "bot-*"}. */
    public Builder allowedCommonNames(String... globs) {
      allowedCommonNames = once(allowedCommonNames, globs, "allowedCommonNames");
      return this;
    }

    /** {@code allowed_uri_sans}, e.g. {@code "spiffe://example.org/bot/*"}. */
    public Builder allowedUriSans(String... globs) {
      allowedUriSans = once(allowedUriSans, globs, "allowedUriSans");
      return this;
    }

    /** {@code token_policies}. */
    public Builder policies(String... policies) {
      this.policies = once(this.policies, policies, "policies");
      return this;
    }

    /** {@code token_ttl}, whole seconds; default {@link #DEFAULT_TOKEN_TTL}. */
    public Builder tokenTtl(Duration ttl) {
      Objects.requireNonNull(ttl, "ttl");
      if (tokenTtl != null) {
        throw new IllegalStateException("tokenTtl is already set");
      }
      tokenTtl = ttl;
      return this;
    }

    public CertRole build() {
      return new CertRole(
          name,
          orEmpty(allowedCommonNames),
          orEmpty(allowedUriSans),
          orEmpty(policies),
          tokenTtl == null ? DEFAULT_TOKEN_TTL : tokenTtl);
    }

    private static List<String> once(List<String> current, String[] values, String what) {
      Objects.requireNonNull(values, what);
      if (current != null) {
        throw new IllegalStateException(what + " is already set");
      }
      List<String> list = new ArrayList<>(Arrays.asList(values));
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i) == null || list.get(i).isBlank()) {
          throw new IllegalArgumentException(what + "[" + i + "] is null or blank");
        }
      }
      return list;
    }

    private static List<String> orEmpty(List<String> list) {
      return list == null ? List.of() : list;
    }
  }
}
