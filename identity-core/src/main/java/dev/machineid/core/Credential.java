package dev.machineid.core;

import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One immutable snapshot of a role-scoped credential: an X.509 chain and key, an OpenSSH
 * certificate and key, or a JWT, as its kind says. Published by an atomic swap like {@link Identity}.
 */
public final class Credential {
  private final CredentialKind kind;
  private final List<X509Certificate> certificateChain;
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final String sshCertificate;
  private final String token;
  private final Instant notAfter;

  public Credential(
      CredentialKind kind,
      List<X509Certificate> certificateChain,
      PrivateKey privateKey,
      PublicKey publicKey,
      String sshCertificate,
      String token,
      Instant notAfter) {
    this.kind = Objects.requireNonNull(kind, "kind");
    this.certificateChain = List.copyOf(certificateChain);
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.sshCertificate = sshCertificate;
    this.token = token;
    this.notAfter = Objects.requireNonNull(notAfter, "notAfter");
  }

  public CredentialKind kind() {
    return kind;
  }

  /** Leaf first; empty for SSH and JWT kinds. */
  public List<X509Certificate> certificateChain() {
    return certificateChain;
  }

  public Optional<X509Certificate> certificate() {
    return certificateChain.isEmpty() ? Optional.empty() : Optional.of(certificateChain.get(0));
  }

  /** The key certified by the chain or the SSH certificate; empty for a JWT. */
  public Optional<PrivateKey> privateKey() {
    return Optional.ofNullable(privateKey);
  }

  public Optional<PublicKey> publicKey() {
    return Optional.ofNullable(publicKey);
  }

  /** The OpenSSH certificate line ({@code …-cert-v01@openssh.com AAAA…}) for SSH kinds. */
  public Optional<String> sshCertificate() {
    return Optional.ofNullable(sshCertificate);
  }

  /** The JWT for {@code jwt_svid}. A secret: never log it. */
  public Optional<String> token() {
    return Optional.ofNullable(token);
  }

  public Instant notAfter() {
    return notAfter;
  }

  public boolean isExpiredAt(Instant now) {
    return !now.isBefore(notAfter);
  }

  public Optional<BigInteger> serialNumber() {
    return certificate().map(X509Certificate::getSerialNumber);
  }

  @Override
  public String toString() {
    return "Credential{" + kind.wire()
        + serialNumber().map(s -> ", serial=" + s.toString(16)).orElse("") + ", notAfter="
        + notAfter + "}";
  }
}
