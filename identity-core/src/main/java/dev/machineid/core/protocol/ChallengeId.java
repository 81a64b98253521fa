package dev.machineid.core.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Objects;

/**
 * The challenge id that platform proofs carry: the first 22 characters of
 * base64url(SHA-256(challenge)).
 */
public final class ChallengeId {
  private ChallengeId() {}

  public static String of(String challenge) {
    Objects.requireNonNull(challenge, "challenge");
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(sha256(challenge.getBytes(StandardCharsets.UTF_8)))
        .substring(0, 22);
  }

  static byte[] sha256(byte[] in) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(in);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }
}
