package dev.machineid.core;

import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One immutable snapshot of the bot identity: certificate chain (leaf first), its private key and
 * the trust bundle, issued together. Published by a single atomic reference swap, so a reader never
 * sees a chain from one snapshot and a key from another.
 */
public final class Identity {
  private final String botName;
  private final SpiffeId spiffeId;
  private final String instanceId;
  private final long generation;
  private final List<X509Certificate> certificateChain;
  private final PrivateKey privateKey;
  private final String sshCertificate;
  private final List<X509Certificate> trustBundle;
  private final String trustDomain;

  public Identity(
      String botName,
      SpiffeId spiffeId,
      String instanceId,
      long generation,
      List<X509Certificate> certificateChain,
      PrivateKey privateKey,
      String sshCertificate,
      List<X509Certificate> trustBundle) {
    this.botName = Objects.requireNonNull(botName, "botName");
    this.spiffeId = Objects.requireNonNull(spiffeId, "spiffeId");
    this.instanceId = Objects.requireNonNull(instanceId, "instanceId");
    this.generation = generation;
    this.certificateChain = List.copyOf(certificateChain);
    if (this.certificateChain.isEmpty()) {
      throw new IllegalArgumentException("certificate chain is empty");
    }
    this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
    this.sshCertificate = sshCertificate;
    this.trustBundle = List.copyOf(trustBundle);
    this.trustDomain = spiffeId.trustDomain();
  }

  public String botName() {
    return botName;
  }

  public SpiffeId spiffeId() {
    return spiffeId;
  }

  public String instanceId() {
    return instanceId;
  }

  /** The renewal generation this certificate was issued at (1 after the first join). */
  public long generation() {
    return generation;
  }

  /** Leaf first, then the issuing authority. */
  public List<X509Certificate> certificateChain() {
    return certificateChain;
  }

  public X509Certificate certificate() {
    return certificateChain.get(0);
  }

  public PrivateKey privateKey() {
    return privateKey;
  }

  public Optional<String> sshCertificate() {
    return Optional.ofNullable(sshCertificate);
  }

  /** The issuer's X.509 authorities, as verified against the CA pins. */
  public List<X509Certificate> trustBundle() {
    return trustBundle;
  }

  public String trustDomain() {
    return trustDomain;
  }

  public BigInteger serialNumber() {
    return certificate().getSerialNumber();
  }

  /** The serial as lower-case hex, as logs and the issuer's audit show it. */
  public String serialHex() {
    return serialNumber().toString(16);
  }

  public Instant notBefore() {
    return certificate().getNotBefore().toInstant();
  }

  public Instant notAfter() {
    return certificate().getNotAfter().toInstant();
  }

  public boolean isExpiredAt(Instant now) {
    return !now.isBefore(notAfter());
  }

  @Override
  public String toString() {
    return "Identity{bot=" + botName + ", spiffeId=" + spiffeId + ", instance=" + instanceId
        + ", generation=" + generation + ", serial=" + serialHex() + ", notAfter=" + notAfter()
        + "}";
  }
}
