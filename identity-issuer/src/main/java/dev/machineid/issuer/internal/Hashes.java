package dev.machineid.issuer.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers. */
public final class Hashes {
  private Hashes() {}

  public static byte[] sha256(byte[] in) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(in);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  public static String sha256Hex(byte[] in) {
    return HexFormat.of().formatHex(sha256(in));
  }

  public static String sha256Hex(String in) {
    return sha256Hex(in.getBytes(StandardCharsets.UTF_8));
  }

  /** The id of a token secret: hex SHA-256 of its UTF-8 bytes. */
  public static String tokenId(String secret) {
    return sha256Hex(secret);
  }

  /** A short, non-reversible form of a secret for logs: the first 12 hex digits of its hash. */
  public static String hint(String secret) {
    return secret == null || secret.isEmpty() ? "-" : sha256Hex(secret).substring(0, 12);
  }
}
