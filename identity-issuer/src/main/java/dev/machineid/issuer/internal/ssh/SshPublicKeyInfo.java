package dev.machineid.issuer.internal.ssh;

import java.security.PublicKey;
import java.time.Instant;
import java.util.List;

/**
 * The fields of an OpenSSH certificate whose signature has been checked against the CA key it names
 * ({@link SshCertificateAuthority#describe(String)}). Whether that CA is trusted is the caller's
 * decision: compare {@link #signingCa()} with {@link SshCertificateAuthority#authorizedKey()}.
 *
 * @param certificateType e.g. {@code ssh-ed25519-cert-v01@openssh.com}
 * @param subjectKey the certified public key
 * @param serial the serial, unsigned 64 bits (see {@link Long#toUnsignedString(long)})
 * @param type user or host
 * @param keyId the key ID
 * @param principals the valid principals, in certificate order
 * @param validAfter start of validity
 * @param validBefore end of validity (exclusive); {@link Instant#MAX} for OpenSSH's "forever"
 * @param criticalOptions names of the critical options, in certificate order
 * @param extensions names of the extensions, in certificate order
 * @param signingCa the CA public key as an {@code authorized_keys} line without comment
 * @param signatureAlgorithm e.g. {@code ssh-ed25519} or {@code rsa-sha2-512}
 * @param comment the text after the base64 certificate on the line, empty if none
 */
public record SshPublicKeyInfo(
    String certificateType,
    PublicKey subjectKey,
    long serial,
    SshCertificateRequest.Type type,
    String keyId,
    List<String> principals,
    Instant validAfter,
    Instant validBefore,
    List<String> criticalOptions,
    List<String> extensions,
    String signingCa,
    String signatureAlgorithm,
    String comment) {

  public SshPublicKeyInfo {
    principals = List.copyOf(principals);
    criticalOptions = List.copyOf(criticalOptions);
    extensions = List.copyOf(extensions);
  }

  /** The subject key as an {@code authorized_keys} line without comment. */
  public String subjectAuthorizedKey() {
    return SshKeys.authorizedKey(subjectKey);
  }

  /** The subject key's OpenSSH fingerprint, {@code SHA256:…}, as {@code ssh-keygen -l} prints it. */
  public String subjectFingerprint() {
    return SshKeys.fingerprint(SshKeys.blob(subjectKey));
  }

  /** True if {@code instant} lies in {@code [validAfter, validBefore)}. */
  public boolean isValidAt(Instant instant) {
    return !instant.isBefore(validAfter) && instant.isBefore(validBefore);
  }
}
