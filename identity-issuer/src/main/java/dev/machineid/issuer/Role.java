package dev.machineid.issuer;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A role resource (docs/architecture.md §9, {@code kind: role}): what the bots holding it may ask for. The issuer
 * stores and lists roles; their use in role-scoped credentials comes with {@code /v1/certificates}.
 *
 * @param name role name, same rule as bot names
 * @param logins SSH logins (may hold trait templates such as {@code {{internal.logins}}})
 * @param dbUsers database users
 * @param kubernetesGroups Kubernetes groups
 * @param kubernetesUsers Kubernetes users
 * @param hostNames globs of SSH host names
 * @param jwtAudiences JWT-SVID audiences
 * @param allowSystemGroups whether Kubernetes groups starting with {@code system:} may be granted
 * @param maxTtl the longest credential TTL the role allows, or {@code null} for the issuer's limit
 * @param createdAt when it was created ({@code null} before it is stored)
 */
public record Role(
    String name,
    List<String> logins,
    List<String> dbUsers,
    List<String> kubernetesGroups,
    List<String> kubernetesUsers,
    List<String> hostNames,
    List<String> jwtAudiences,
    boolean allowSystemGroups,
    Duration maxTtl,
    Instant createdAt) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  public Role {
    Objects.requireNonNull(name, "name");
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "invalid role name '" + name
              + "': use 1 to 63 characters from a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
    }
    logins = List.copyOf(Objects.requireNonNull(logins, "logins"));
    dbUsers = List.copyOf(Objects.requireNonNull(dbUsers, "dbUsers"));
    kubernetesGroups = List.copyOf(Objects.requireNonNull(kubernetesGroups, "kubernetesGroups"));
    kubernetesUsers = List.copyOf(Objects.requireNonNull(kubernetesUsers, "kubernetesUsers"));
    hostNames = List.copyOf(Objects.requireNonNull(hostNames, "hostNames"));
    jwtAudiences = List.copyOf(Objects.requireNonNull(jwtAudiences, "jwtAudiences"));
    if (maxTtl != null
        && (maxTtl.compareTo(Duration.ofSeconds(1)) < 0
            || maxTtl.compareTo(Duration.ofHours(24)) > 0)) {
      throw new IllegalArgumentException(
          "role '" + name + "': options.max_ttl must be 1s to 24h, got " + maxTtl);
    }
    if (!allowSystemGroups) {
      for (String g : kubernetesGroups) {
        if (g.startsWith("system:")) {
          throw new IllegalArgumentException("role '" + name + "': kubernetes group '" + g
              + "' starts with system:; set allow_system_groups: true to grant it");
        }
      }
    }
  }

  /** This role with its creation time. */
  public Role createdAt(Instant at) {
    return new Role(
        name,
        logins,
        dbUsers,
        kubernetesGroups,
        kubernetesUsers,
        hostNames,
        jwtAudiences,
        allowSystemGroups,
        maxTtl,
        at);
  }
}
