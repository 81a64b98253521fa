package dev.machineid.core.storage;

import dev.machineid.core.protocol.Credentials;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.util.Objects;
import java.util.Optional;

/**
 * The bot's own identity as stored: the issuer's answer, the private key it certifies, and the key
 * of a renewal in flight. Keeping the pending key means a process that dies after the issuer
 * advanced the generation retries with the same key after a restart (and gets the same certificate
 * back) instead of looking like a stolen copy.
 */
public record StoredIdentity(Credentials credentials, PrivateKey privateKey, KeyPair pendingKey) {
  public StoredIdentity {
    Objects.requireNonNull(credentials, "credentials");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  public StoredIdentity(Credentials credentials, PrivateKey privateKey) {
    this(credentials, privateKey, null);
  }

  public Optional<KeyPair> pending() {
    return Optional.ofNullable(pendingKey);
  }

  @Override
  public String toString() {
    return "StoredIdentity{bot=" + credentials.bot() + ", instance=" + credentials.instanceId()
        + ", generation=" + credentials.generation() + "}";
  }
}
