package dev.machineid.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * A CA pin: {@code sha256:} followed by the hex SHA-256 of a certificate's DER
 * SubjectPublicKeyInfo. Compared in constant time.
 */
public final class CaPin {
  private static final String PREFIX = "sha256:";
  private final byte[] digest;

  private CaPin(byte[] digest) {
    this.digest = digest;
  }

  /** Parses {@code sha256:<64 hex digits>}; upper or lower case hex. */
  public static CaPin parse(String text) {
    Objects.requireNonNull(text, "pin");
    String t = text.trim();
    if (!t.toLowerCase(Locale.ROOT).startsWith(PREFIX)) {
      throw new IllegalArgumentException("CA pin '" + text + "' must start with 'sha256:'");
    }
    String hex = t.substring(PREFIX.length());
    if (hex.length() != 64) {
      throw new IllegalArgumentException(
          "CA pin '" + text + "' must have 64 hex digits after 'sha256:'");
    }
    try {
      return new CaPin(HexFormat.of().parseHex(hex.toLowerCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("CA pin '" + text + "' is not hexadecimal", e);
    }
  }

  /** The pin of a certificate's public key. */
  public static CaPin of(X509Certificate certificate) {
    return new CaPin(sha256(certificate.getPublicKey().getEncoded()));
  }

  /** True if the certificate's SubjectPublicKeyInfo has this pin (constant-time comparison). */
  public boolean matches(X509Certificate certificate) {
    return MessageDigest.isEqual(digest, sha256(certificate.getPublicKey().getEncoded()));
  }

  private static byte[] sha256(byte[] in) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(in);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CaPin p && MessageDigest.isEqual(digest, p.digest);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(digest);
  }

  @Override
  public String toString() {
    return PREFIX + HexFormat.of().formatHex(digest);
  }
}
