package dev.machineid.issuer.join;

import java.util.Map;
import java.util.Objects;

/**
 * The result of an accepted proof.
 *
 * @param botName the bot the caller becomes
 * @param tokenId the id of the token resource that allowed the join (hex SHA-256 of a {@code token}
 *     secret), checked against token locks
 * @param attestedIdentity the platform identity that was proven (an ARN, a repository, the token
 *     id for {@code token}), checked against identity locks
 * @param metadata what was attested, stored with the instance and audited; never secrets
 */
public record VerifiedJoin(
    String botName, String tokenId, String attestedIdentity, Map<String, String> metadata) {
  public VerifiedJoin {
    Objects.requireNonNull(botName, "botName");
    Objects.requireNonNull(tokenId, "tokenId");
    Objects.requireNonNull(attestedIdentity, "attestedIdentity");
    metadata = Map.copyOf(Objects.requireNonNull(metadata, "metadata"));
  }
}
