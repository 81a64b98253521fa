package dev.machineid.core.storage;

import java.security.KeyPair;
import java.security.PrivateKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The bot's own identity as stored: what the issuer issued, the private key it certifies, and the
 * key of a renewal in flight. Keeping the pending key means a process that dies after the issuer
 * advanced the generation retries with the same key after a restart (and gets the same certificate
 * back) instead of looking like a stolen copy.
 *
 * <p>A {@link Storage} keeps every component as it is and gives it back unchanged; it need not
 * understand them. Certificates and keys are PEM text, SSH keys and certificates OpenSSH text.
 */
public record StoredIdentity(Issued issued, PrivateKey privateKey, KeyPair pendingKey) {
  public StoredIdentity {
    Objects.requireNonNull(issued, "issued");
    Objects.requireNonNull(privateKey, "privateKey");
  }

  public StoredIdentity(Issued issued, PrivateKey privateKey) {
    this(issued, privateKey, null);
  }

  public Optional<KeyPair> pending() {
    return Optional.ofNullable(pendingKey);
  }

  /**
   * What the issuer issued to the bot.
   *
   * @param bot the bot's name
   * @param instanceId the bot instance the identity belongs to
   * @param generation counts the renewals of the instance, 1 at join
   * @param certificateChain the X.509 certificate chain as PEM, leaf first
   * @param sshCertificate the bot's OpenSSH certificate, or {@code null} if none was issued
   * @param notAfter when the leaf certificate expires
   * @param renewAfter when the issuer suggested renewing, or {@code null}
   * @param serverTime the issuer's clock when it answered, or {@code null}
   * @param authorities the trust bundle accepted with the identity, or {@code null} if stored by a
   *     version that kept none
   */
  public record Issued(
      String bot,
      String instanceId,
      long generation,
      List<String> certificateChain,
      String sshCertificate,
      Instant notAfter,
      Instant renewAfter,
      Instant serverTime,
      Authorities authorities) {
    public Issued {
      certificateChain = copy(certificateChain);
    }
  }

  /**
   * The issuer's authorities accepted with the identity. Each list is PEM certificates (SSH lists:
   * OpenSSH public keys) and is {@code null} where the issuer sent none.
   *
   * @param jwksJson the issuer's JSON Web Key Set as JSON text, or {@code null}
   */
  public record Authorities(
      String trustDomain,
      List<String> x509Authorities,
      List<String> spiffeAuthorities,
      List<String> databaseClientAuthorities,
      List<String> databaseServerAuthorities,
      List<String> kubernetesClientAuthorities,
      List<String> sshUserAuthorities,
      List<String> sshHostAuthorities,
      String jwksJson) {
    public Authorities {
      x509Authorities = copy(x509Authorities);
      spiffeAuthorities = copy(spiffeAuthorities);
      databaseClientAuthorities = copy(databaseClientAuthorities);
      databaseServerAuthorities = copy(databaseServerAuthorities);
      kubernetesClientAuthorities = copy(kubernetesClientAuthorities);
      sshUserAuthorities = copy(sshUserAuthorities);
      sshHostAuthorities = copy(sshHostAuthorities);
    }
  }

  /** An unmodifiable copy that keeps {@code null} (absent) apart from empty. */
  private static List<String> copy(List<String> list) {
    return list == null ? null : Collections.unmodifiableList(new ArrayList<>(list));
  }

  @Override
  public String toString() {
    return "StoredIdentity{bot=" + issued.bot() + ", instance=" + issued.instanceId()
        + ", generation=" + issued.generation() + "}";
  }
}
