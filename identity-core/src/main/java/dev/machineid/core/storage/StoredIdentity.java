package dev.machineid.core.storage;

import dev.machineid.core.protocol.Credentials;
import java.security.PrivateKey;
import java.util.Objects;

/** The bot's own identity as stored: the issuer's answer and the private key it certifies. */
public record StoredIdentity(Credentials credentials, PrivateKey privateKey) {
  public StoredIdentity {
    Objects.requireNonNull(credentials, "credentials");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  @Override
  public String toString() {
    return "StoredIdentity{bot=" + credentials.bot() + ", instance=" + credentials.instanceId()
        + ", generation=" + credentials.generation() + "}";
  }
}
