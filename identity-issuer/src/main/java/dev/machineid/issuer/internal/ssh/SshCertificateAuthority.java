package dev.machineid.issuer.internal.ssh;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.NamedParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * An OpenSSH certificate authority (PROTOCOL.certkeys): signs {@code -cert-v01@openssh.com} user and
 * host certificates for Ed25519, ECDSA P-256 and RSA subject keys with JDK crypto only.
 *
 * <p>New authorities have Ed25519 keys (signature {@code ssh-ed25519}); {@link #of(KeyPair)} also
 * loads ECDSA P-256 keys (signature {@code ecdsa-sha2-nistp256}) and RSA keys (signature
 * {@code rsa-sha2-512}). sshd trusts the authority through {@code TrustedUserCAKeys} and ssh through
 * {@code @cert-authority} lines in {@code known_hosts}, both holding {@link #authorizedKey()}.
 * Instances are immutable and safe for concurrent use.
 */
public final class SshCertificateAuthority {
  private static final int NONCE_BYTES = 32;
  private static final byte[] KEY_CHECK =
      "machineid ssh certificate authority key check".getBytes(StandardCharsets.US_ASCII);

  private final KeyPair keyPair;
  private final SecureRandom random;
  private final byte[] publicBlob;

  private SshCertificateAuthority(KeyPair keyPair, SecureRandom random) {
    this.keyPair = keyPair;
    this.random = random;
    this.publicBlob = SshKeys.blob(keyPair.getPublic());
  }

  /** A new authority with a fresh Ed25519 key; {@code random} also makes the certificate nonces. */
  public static SshCertificateAuthority generate(SecureRandom random) {
    if (random == null) {
      throw new IllegalArgumentException("random is required");
    }
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("Ed25519");
      generator.initialize(NamedParameterSpec.ED25519, random);
      return new SshCertificateAuthority(generator.generateKeyPair(), random);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot generate Ed25519 keys", e);
    }
  }

  /**
   * Loads an authority from its key pair: Ed25519, ECDSA P-256 or RSA of 2048 to 8192 bits.
   *
   * @throws IllegalArgumentException for another key type or a private key that does not match
   *     the public key
   */
  public static SshCertificateAuthority of(KeyPair keyPair) {
    return of(keyPair, new SecureRandom());
  }

  /** As {@link #of(KeyPair)}, with the source of certificate nonces. */
  public static SshCertificateAuthority of(KeyPair keyPair, SecureRandom random) {
    if (keyPair == null || keyPair.getPublic() == null || keyPair.getPrivate() == null) {
      throw new IllegalArgumentException("an SSH CA needs a key pair with both halves");
    }
    if (random == null) {
      throw new IllegalArgumentException("random is required");
    }
    try {
      SshKeys.keyType(keyPair.getPublic());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("SSH CA key: " + e.getMessage(), e);
    }
    byte[] signature;
    try {
      signature = SshKeys.sign(keyPair.getPrivate(), keyPair.getPublic(), KEY_CHECK);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "SSH CA key: the private key cannot sign: " + e.getMessage(), e);
    }
    if (!SshKeys.verify(keyPair.getPublic(), signature, KEY_CHECK)) {
      throw new IllegalArgumentException(
          "SSH CA key: the private key does not match the public key");
    }
    return new SshCertificateAuthority(keyPair, random);
  }

  /** The CA's key pair, for storing it. */
  public KeyPair keyPair() {
    return keyPair;
  }

  /**
   * The CA public key as an {@code authorized_keys} line without comment, e.g. {@code ssh-ed25519
   * AAAA…}: the content of a {@code TrustedUserCAKeys} file, and of {@code @cert-authority <hosts>
   * <line>} in {@code known_hosts}.
   */
  public String authorizedKey() {
    return SshKeys.authorizedKey(keyPair.getPublic());
  }

  /** The CA key's OpenSSH fingerprint, {@code SHA256:…}, as {@code ssh-keygen -l} prints it. */
  public String fingerprint() {
    return SshKeys.fingerprint(publicBlob);
  }

  /** The SSH signature algorithm of this CA: {@code ssh-ed25519}, {@code ecdsa-sha2-nistp256} or {@code rsa-sha2-512}. */
  public String signatureAlgorithm() {
    return SshKeys.signatureAlgorithm(keyPair.getPublic());
  }

  /**
   * Signs a certificate with a fresh random nonce.
   *
   * @return one line {@code <certificate type> <base64> <key id>}, e.g. {@code
   *     ssh-ed25519-cert-v01@openssh.com AAAA… bot-build}, the content of a {@code -cert.pub} file
   */
  public String sign(SshCertificateRequest request) {
    if (request == null) {
      throw new IllegalArgumentException("request is required");
    }
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    String certificateType = SshKeys.keyType(request.subjectKey()) + SshKeys.CERT_SUFFIX;

    SshWire.Writer principals = new SshWire.Writer();
    request.principals().forEach(principals::string);
    SshWire.Writer extensions = new SshWire.Writer();
    request.extensions().stream()
        .sorted()
        .forEach(name -> extensions.string(name).string(new byte[0]));

    byte[] signed = new SshWire.Writer()
        .string(certificateType)
        .string(nonce)
        .raw(SshKeys.fields(request.subjectKey()))
        .uint64(request.serial())
        .uint32(request.type().wireValue())
        .string(request.keyId())
        .string(principals.toByteArray())
        .uint64(request.validAfter().getEpochSecond())
        .uint64(request.validBefore().getEpochSecond())
        .string(new byte[0]) // critical options: none
        .string(extensions.toByteArray())
        .string(new byte[0]) // reserved
        .string(publicBlob)
        .toByteArray();
    byte[] signature = SshKeys.sign(keyPair.getPrivate(), keyPair.getPublic(), signed);
    byte[] certificate = new SshWire.Writer().raw(signed).string(signature).toByteArray();
    return certificateType + " " + Base64.getEncoder().encodeToString(certificate) + " "
        + request.keyId();
  }

  /**
   * Parses a certificate line {@code <certificate type> <base64> [comment]} and checks its
   * signature against the CA key it carries. Which CA signed it is in {@link
   * SshPublicKeyInfo#signingCa()}; trusting that CA is the caller's decision.
   *
   * @throws IllegalArgumentException if the line is not an OpenSSH certificate of a supported key
   *     type or its signature does not verify
   */
  public static SshPublicKeyInfo describe(String certificateLine) {
    if (certificateLine == null || certificateLine.isBlank()) {
      throw new IllegalArgumentException("the certificate line is empty");
    }
    String[] parts = certificateLine.strip().split("\\s+", 3);
    String lineType = parts[0];
    if (!lineType.endsWith(SshKeys.CERT_SUFFIX)) {
      throw new IllegalArgumentException("not an OpenSSH certificate line: the type '" + lineType
          + "' does not end in " + SshKeys.CERT_SUFFIX);
    }
    if (parts.length < 2) {
      throw new IllegalArgumentException("the base64 certificate is missing after " + lineType);
    }
    byte[] blob;
    try {
      blob = Base64.getDecoder().decode(parts[1]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("the certificate after " + lineType + " is not base64", e);
    }
    SshWire.Reader r = new SshWire.Reader(blob);
    String certificateType = r.utf8();
    if (!certificateType.equals(lineType)) {
      throw new IllegalArgumentException(
          "the certificate is a " + certificateType + ", the line says " + lineType);
    }
    String keyType =
        certificateType.substring(0, certificateType.length() - SshKeys.CERT_SUFFIX.length());
    r.string(); // nonce
    PublicKey subject = SshKeys.readFields(keyType, r);
    long serial = r.uint64();
    SshCertificateRequest.Type type = SshCertificateRequest.Type.fromWire(r.uint32());
    String keyId = r.utf8();
    List<String> principals = names(r.string(), false);
    Instant validAfter = instant(r.uint64());
    Instant validBefore = instant(r.uint64());
    List<String> criticalOptions = names(r.string(), true);
    List<String> extensions = names(r.string(), true);
    r.string(); // reserved
    PublicKey caKey = SshKeys.fromBlob(r.string(), null);
    int signedLength = r.position();
    byte[] signature = r.string();
    r.end("the certificate");
    byte[] signed = Arrays.copyOf(blob, signedLength);
    if (!SshKeys.verify(caKey, signature, signed)) {
      throw new IllegalArgumentException(
          "the certificate signature does not verify against its signature key");
    }
    String algorithm = new SshWire.Reader(signature).utf8();
    return new SshPublicKeyInfo(
        certificateType,
        subject,
        serial,
        type,
        keyId,
        principals,
        validAfter,
        validBefore,
        criticalOptions,
        extensions,
        SshKeys.authorizedKey(caKey),
        algorithm,
        parts.length > 2 ? parts[2] : "");
  }

  /** The strings packed in a field; for options and extensions, the names of name/data pairs. */
  private static List<String> names(byte[] packed, boolean pairs) {
    SshWire.Reader r = new SshWire.Reader(packed);
    List<String> out = new ArrayList<>();
    while (r.hasRemaining()) {
      out.add(r.utf8());
      if (pairs) {
        r.string();
      }
    }
    return out;
  }

  private static Instant instant(long seconds) {
    return seconds < 0 || seconds > Instant.MAX.getEpochSecond()
        ? Instant.MAX
        : Instant.ofEpochSecond(seconds);
  }

  @Override
  public String toString() {
    return "SshCertificateAuthority[" + signatureAlgorithm() + " " + fingerprint() + "]";
  }
}
