package dev.machineid.issuer.internal;

import dev.machineid.core.protocol.ErrorCode;
import dev.machineid.core.protocol.Pem;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;

/** Parsing, checking and signature verification of the public keys clients ask to certify. */
public final class Keys {
  /** The order of the NIST P-256 group. */
  private static final BigInteger P256_ORDER =
      new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  private Keys() {}

  /**
   * Parses a {@code PUBLIC KEY} PEM and checks it is EC P-256, Ed25519 or RSA of 2048 to 8192 bits.
   *
   * @throws ProblemException {@code malformed_request} otherwise
   */
  public static PublicKey parse(String pem) {
    PublicKey key;
    try {
      key = Pem.publicKey(pem);
    } catch (IllegalArgumentException e) {
      throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, "public_key is not a PEM SubjectPublicKeyInfo of an EC P-256, Ed25519 or RSA key");
    }
    if (key instanceof ECPublicKey ec) {
      if (ec.getParams().getCurve().getField().getFieldSize() != 256 || !P256_ORDER.equals(ec.getParams().getOrder())) {
        throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, "public_key: only the P-256 curve is accepted for EC keys");
      }
    } else if (key instanceof EdECPublicKey ed) {
      if (!"Ed25519".equalsIgnoreCase(ed.getParams().getName())) {
        throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, "public_key: only Ed25519 is accepted for EdDSA keys");
      }
    } else if (key instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      if (bits < 2048 || bits > 8192) {
        throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, "public_key: RSA keys must have 2048 to 8192 bits, this one has " + bits);
      }
    } else {
      throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, "public_key: unsupported key type " + key.getAlgorithm());
    }
    return key;
  }

  /** SHA-256 of the key's DER SubjectPublicKeyInfo. */
  public static byte[] spkiSha256(PublicKey key) {
    return Hashes.sha256(key.getEncoded());
  }

  /** Hex SHA-256 of the key's DER SubjectPublicKeyInfo: what the store keeps per generation. */
  public static String spkiSha256Hex(PublicKey key) {
    return Hashes.sha256Hex(key.getEncoded());
  }

  /** The JCA signature algorithm for a key: SHA256withECDSA, Ed25519 or SHA256withRSA. */
  public static String signatureAlgorithm(PublicKey key) {
    if (key instanceof ECPublicKey) {
      return "SHA256withECDSA";
    }
    if (key instanceof EdECPublicKey) {
      return "Ed25519";
    }
    return "SHA256withRSA";
  }

  /** True if {@code signature} is a valid signature of {@code data} by the key's private half. */
  public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
    try {
      Signature s = Signature.getInstance(signatureAlgorithm(key));
      s.initVerify(key);
      s.update(data);
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }
}
