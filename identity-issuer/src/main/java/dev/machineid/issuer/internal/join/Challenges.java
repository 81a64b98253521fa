package dev.machineid.issuer.internal.join;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.internal.ProblemException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Stateless join challenges: base64url (no padding) of nonce (16 bytes) ‖ expiry (epoch seconds,
 * 8 bytes) ‖ MAC (16 bytes), where MAC is the first 16 bytes of HMAC-SHA256 under the shared key
 * over nonce ‖ expiry ‖ len-prefixed token ‖ len-prefixed join method ‖ SHA-256(SPKI). 54
 * characters. Issuing stores nothing; redeeming is made single-use by the store.
 */
public final class Challenges {
  public static final Duration LIFETIME = Duration.ofMinutes(2);
  private static final int NONCE = 16;
  private static final int EXPIRY = 8;
  private static final int MAC = 16;
  private static final int LENGTH = NONCE + EXPIRY + MAC;

  private final byte[] macKey;
  private final SecureRandom random;

  public Challenges(byte[] macKey, SecureRandom random) {
    if (macKey.length < 32) {
      throw new IllegalArgumentException("challenge MAC key must have at least 32 bytes");
    }
    this.macKey = macKey.clone();
    this.random = random;
  }

  /** An issued challenge. */
  public record Issued(String challenge, Instant expiresAt) {}

  /** A challenge whose MAC and expiry checked out; {@code nonce} is the single-use key. */
  public record Checked(String nonce, Instant expiresAt) {}

  public Issued issue(String token, String joinMethod, byte[] spkiHash, Instant now) {
    byte[] nonce = new byte[NONCE];
    random.nextBytes(nonce);
    long expiry = now.plus(LIFETIME).getEpochSecond();
    ByteBuffer out = ByteBuffer.allocate(LENGTH);
    out.put(nonce).putLong(expiry).put(mac(nonce, expiry, token, joinMethod, spkiHash));
    return new Issued(
        Base64.getUrlEncoder().withoutPadding().encodeToString(out.array()),
        Instant.ofEpochSecond(expiry));
  }

  /**
   * Checks the MAC (constant time) and the expiry.
   *
   * @throws ProblemException {@code challenge_invalid}
   */
  public Checked check(
      String challenge, String token, String joinMethod, byte[] spkiHash, Instant now) {
    byte[] raw;
    try {
      raw = challenge.length() > 64 ? null : Base64.getUrlDecoder().decode(challenge);
    } catch (IllegalArgumentException e) {
      raw = null;
    }
    if (raw == null || raw.length != LENGTH) {
      throw new ProblemException(
          ErrorCode.CHALLENGE_INVALID,
          "the challenge is not one this issuer issued",
          "challenge does not decode to 40 bytes");
    }
    ByteBuffer in = ByteBuffer.wrap(raw);
    byte[] nonce = new byte[NONCE];
    in.get(nonce);
    long expiry = in.getLong();
    byte[] mac = new byte[MAC];
    in.get(mac);
    if (!MessageDigest.isEqual(mac, mac(nonce, expiry, token, joinMethod, spkiHash))) {
      throw new ProblemException(
          ErrorCode.CHALLENGE_INVALID,
          "the challenge is not valid for this token, join method and public key",
          "challenge MAC mismatch (forged, or issued for another token, join method or public key)");
    }
    Instant expiresAt = Instant.ofEpochSecond(expiry);
    if (!now.isBefore(expiresAt)) {
      throw new ProblemException(
          ErrorCode.CHALLENGE_INVALID,
          "the challenge has expired; ask for a new one",
          "challenge expired at " + expiresAt);
    }
    return new Checked(HexFormat.of().formatHex(nonce), expiresAt);
  }

  private byte[] mac(byte[] nonce, long expiry, String token, String joinMethod, byte[] spkiHash) {
    try {
      Mac m = Mac.getInstance("HmacSHA256");
      m.init(new SecretKeySpec(macKey, "HmacSHA256"));
      m.update(nonce);
      m.update(ByteBuffer.allocate(8).putLong(expiry).array());
      lengthPrefixed(m, token == null ? "" : token);
      lengthPrefixed(m, joinMethod);
      m.update(spkiHash);
      return Arrays.copyOf(m.doFinal(), MAC);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  private static void lengthPrefixed(Mac m, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    m.update(ByteBuffer.allocate(4).putInt(b.length).array());
    m.update(b);
  }
}
