package dev.machineid.issuer.internal.ssh;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;

/**
 * OpenSSH public key blobs ({@code ssh-ed25519}, {@code ecdsa-sha2-nistp256}, {@code ssh-rsa}) to and
 * from JCA keys, and the SSH signature formats of RFC 8709, RFC 5656 and RFC 8332.
 */
final class SshKeys {
  static final String ED25519 = "ssh-ed25519";
  static final String ECDSA_P256 = "ecdsa-sha2-nistp256";
  static final String RSA = "ssh-rsa";
  static final String RSA_SHA512 = "rsa-sha2-512";
  static final String RSA_SHA256 = "rsa-sha2-256";
  static final String CERT_SUFFIX = "-cert-v01@openssh.com";

  /** The DER SubjectPublicKeyInfo prefix of an Ed25519 key (RFC 8410), followed by its 32 bytes. */
  private static final byte[] ED25519_SPKI_PREFIX = {
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
  };

  private static final BigInteger P256_P =
      new BigInteger("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF", 16);
  private static final BigInteger P256_B =
      new BigInteger("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B", 16);
  private static final BigInteger P256_ORDER =
      new BigInteger("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

  static final int RSA_MIN_BITS = 2048;
  static final int RSA_MAX_BITS = 8192;

  private SshKeys() {}

  /** The SSH key type name of a supported key; {@link IllegalArgumentException} for any other key. */
  static String keyType(PublicKey key) {
    if (key instanceof EdECPublicKey
        || (key != null && "Ed25519".equalsIgnoreCase(key.getAlgorithm()))) {
      ed25519Bytes(key);
      return ED25519;
    }
    if (key instanceof ECPublicKey ec) {
      if (!isP256(ec.getParams())) {
        throw new IllegalArgumentException("only the P-256 curve is supported for ECDSA SSH keys");
      }
      return ECDSA_P256;
    }
    if (key instanceof RSAPublicKey rsa) {
      int bits = rsa.getModulus().bitLength();
      if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
        throw new IllegalArgumentException("RSA SSH keys must have " + RSA_MIN_BITS + " to "
            + RSA_MAX_BITS + " bits, this one has " + bits);
      }
      return RSA;
    }
    throw new IllegalArgumentException("unsupported SSH key type "
        + (key == null ? "null" : key.getAlgorithm()) + ": use Ed25519, ECDSA P-256 or RSA");
  }

  /** The public key blob: {@code string type} followed by the type's fields. */
  static byte[] blob(PublicKey key) {
    SshWire.Writer w = new SshWire.Writer().string(keyType(key));
    return w.raw(fields(key)).toByteArray();
  }

  /** The type's fields without the type name: what a certificate places after its nonce. */
  static byte[] fields(PublicKey key) {
    SshWire.Writer w = new SshWire.Writer();
    switch (keyType(key)) {
      case ED25519 -> w.string(ed25519Bytes(key));
      case ECDSA_P256 -> w.string("nistp256").string(uncompressedPoint(((ECPublicKey) key).getW()));
      default -> {
        RSAPublicKey rsa = (RSAPublicKey) key;
        w.mpint(rsa.getPublicExponent()).mpint(rsa.getModulus());
      }
    }
    return w.toByteArray();
  }

  /** {@code <type> <base64 blob>}: an {@code authorized_keys} line without options or comment. */
  static String authorizedKey(PublicKey key) {
    return keyType(key) + " " + Base64.getEncoder().encodeToString(blob(key));
  }

  /** OpenSSH's fingerprint: {@code SHA256:} and unpadded base64 of the blob's SHA-256. */
  static String fingerprint(byte[] blob) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(blob);
      return "SHA256:" + Base64.getEncoder().withoutPadding().encodeToString(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  /** Decodes a public key blob whose type must be {@code expectedType} (when not null). */
  static PublicKey fromBlob(byte[] blob, String expectedType) {
    SshWire.Reader r = new SshWire.Reader(blob);
    String type = r.utf8();
    if (expectedType != null && !expectedType.equals(type)) {
      throw new IllegalArgumentException(
          "the key blob holds a " + type + " key, the line says " + expectedType);
    }
    PublicKey key = readFields(type, r);
    r.end("the " + type + " key blob");
    return key;
  }

  /** Reads the fields of a key of {@code type} (a plain key type, not a certificate type). */
  static PublicKey readFields(String type, SshWire.Reader r) {
    try {
      switch (type) {
        case ED25519 -> {
          byte[] raw = r.string();
          if (raw.length != 32) {
            throw new IllegalArgumentException(
                "an ssh-ed25519 key has 32 bytes, this one " + raw.length);
          }
          byte[] spki = Arrays.copyOf(ED25519_SPKI_PREFIX, ED25519_SPKI_PREFIX.length + 32);
          System.arraycopy(raw, 0, spki, ED25519_SPKI_PREFIX.length, 32);
          return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        }
        case ECDSA_P256 -> {
          String curve = r.utf8();
          if (!"nistp256".equals(curve)) {
            throw new IllegalArgumentException(
                "an ecdsa-sha2-nistp256 key names curve nistp256, this one " + curve);
          }
          ECPoint point = p256Point(r.string());
          return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(point, p256()));
        }
        case RSA -> {
          BigInteger e = r.mpint();
          BigInteger n = r.mpint();
          if (e.signum() <= 0 || n.signum() <= 0 || !e.testBit(0)) {
            throw new IllegalArgumentException(
                "malformed ssh-rsa key: exponent and modulus must be positive, the exponent odd");
          }
          PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(n, e));
          keyType(key); // size limits
          return key;
        }
        default ->
          throw new IllegalArgumentException("unsupported SSH key type " + type
              + ": use ssh-ed25519, ecdsa-sha2-nistp256 or ssh-rsa");
      }
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("malformed " + type + " key: " + e.getMessage(), e);
    }
  }

  /** The SSH signature algorithm a CA key signs with: ssh-ed25519, ecdsa-sha2-nistp256 or rsa-sha2-512. */
  static String signatureAlgorithm(PublicKey key) {
    String type = keyType(key);
    return RSA.equals(type) ? RSA_SHA512 : type;
  }

  /** An SSH signature blob: {@code string algorithm, string signature}. */
  static byte[] sign(PrivateKey key, PublicKey publicKey, byte[] data) {
    String algorithm = signatureAlgorithm(publicKey);
    try {
      Signature s = Signature.getInstance(jcaAlgorithm(algorithm));
      s.initSign(key);
      s.update(data);
      byte[] signature = s.sign();
      SshWire.Writer w = new SshWire.Writer().string(algorithm);
      if (ECDSA_P256.equals(algorithm)) {
        BigInteger[] rs = derToRs(signature);
        w.string(new SshWire.Writer().mpint(rs[0]).mpint(rs[1]).toByteArray());
      } else {
        w.string(signature);
      }
      return w.toByteArray();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(
          "cannot sign with the " + algorithm + " CA key: " + e.getMessage(), e);
    }
  }

  /** True if the SSH signature blob is a valid signature of {@code data} by {@code key}. */
  static boolean verify(PublicKey key, byte[] signatureBlob, byte[] data) {
    try {
      SshWire.Reader r = new SshWire.Reader(signatureBlob);
      String algorithm = r.utf8();
      byte[] signature = r.string();
      r.end("the signature");
      String keyType = keyType(key);
      boolean matches = keyType.equals(algorithm)
          || (RSA.equals(keyType)
              && (RSA_SHA512.equals(algorithm) || RSA_SHA256.equals(algorithm)));
      if (!matches) {
        return false;
      }
      if (ECDSA_P256.equals(algorithm)) {
        SshWire.Reader rs = new SshWire.Reader(signature);
        BigInteger sr = rs.mpint();
        BigInteger ss = rs.mpint();
        rs.end("the ECDSA signature");
        signature = rsToDer(sr, ss);
      }
      Signature s = Signature.getInstance(jcaAlgorithm(algorithm));
      s.initVerify(key);
      s.update(data);
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }

  private static String jcaAlgorithm(String sshAlgorithm) {
    return switch (sshAlgorithm) {
      case ED25519 -> "Ed25519";
      case ECDSA_P256 -> "SHA256withECDSA";
      case RSA_SHA512 -> "SHA512withRSA";
      case RSA_SHA256 -> "SHA256withRSA";
      default ->
        throw new IllegalArgumentException("unsupported SSH signature algorithm " + sshAlgorithm);
    };
  }

  private static byte[] ed25519Bytes(PublicKey key) {
    byte[] spki = key.getEncoded();
    if (spki == null
        || spki.length != ED25519_SPKI_PREFIX.length + 32
        || !Arrays.equals(
            spki,
            0,
            ED25519_SPKI_PREFIX.length,
            ED25519_SPKI_PREFIX,
            0,
            ED25519_SPKI_PREFIX.length)) {
      throw new IllegalArgumentException("only Ed25519 is supported for EdDSA SSH keys");
    }
    return Arrays.copyOfRange(spki, ED25519_SPKI_PREFIX.length, spki.length);
  }

  private static boolean isP256(ECParameterSpec params) {
    return params.getCurve().getField().getFieldSize() == 256
        && P256_ORDER.equals(params.getOrder());
  }

  private static ECParameterSpec p256() throws GeneralSecurityException {
    AlgorithmParameters parameters = AlgorithmParameters.getInstance("EC");
    parameters.init(new ECGenParameterSpec("secp256r1"));
    return parameters.getParameterSpec(ECParameterSpec.class);
  }

  private static byte[] uncompressedPoint(ECPoint w) {
    byte[] out = new byte[65];
    out[0] = 0x04;
    copyUnsigned(w.getAffineX(), out, 1, 32);
    copyUnsigned(w.getAffineY(), out, 33, 32);
    return out;
  }

  /** An uncompressed SEC1 point that lies on P-256. */
  private static ECPoint p256Point(byte[] encoded) {
    if (encoded.length != 65 || encoded[0] != 0x04) {
      throw new IllegalArgumentException(
          "an ecdsa-sha2-nistp256 key is an uncompressed point of 65 bytes");
    }
    BigInteger x = new BigInteger(1, Arrays.copyOfRange(encoded, 1, 33));
    BigInteger y = new BigInteger(1, Arrays.copyOfRange(encoded, 33, 65));
    BigInteger rhs =
        x.pow(3).subtract(x.multiply(BigInteger.valueOf(3))).add(P256_B).mod(P256_P);
    if (x.compareTo(P256_P) >= 0
        || y.compareTo(P256_P) >= 0
        || !y.pow(2).mod(P256_P).equals(rhs)) {
      throw new IllegalArgumentException("the ecdsa-sha2-nistp256 point is not on the curve");
    }
    return new ECPoint(x, y);
  }

  private static void copyUnsigned(BigInteger value, byte[] out, int offset, int length) {
    byte[] b = value.toByteArray();
    int start = Math.max(0, b.length - length);
    int count = b.length - start;
    System.arraycopy(b, start, out, offset + length - count, count);
  }

  /** The r and s of a DER ECDSA signature {@code SEQUENCE { INTEGER r, INTEGER s }}. */
  private static BigInteger[] derToRs(byte[] der) {
    int[] pos = {0};
    expect(der, pos, 0x30);
    int seqLength = derLength(der, pos);
    if (pos[0] + seqLength != der.length) {
      throw new IllegalArgumentException("malformed DER ECDSA signature");
    }
    BigInteger r = derInteger(der, pos);
    BigInteger s = derInteger(der, pos);
    return new BigInteger[] {r, s};
  }

  private static BigInteger derInteger(byte[] der, int[] pos) {
    expect(der, pos, 0x02);
    int length = derLength(der, pos);
    if (pos[0] + length > der.length) {
      throw new IllegalArgumentException("malformed DER ECDSA signature");
    }
    BigInteger v = new BigInteger(Arrays.copyOfRange(der, pos[0], pos[0] + length));
    pos[0] += length;
    return v;
  }

  private static void expect(byte[] der, int[] pos, int tag) {
    if (pos[0] >= der.length || (der[pos[0]++] & 0xff) != tag) {
      throw new IllegalArgumentException("malformed DER ECDSA signature");
    }
  }

  private static int derLength(byte[] der, int[] pos) {
    if (pos[0] >= der.length) {
      throw new IllegalArgumentException("malformed DER ECDSA signature");
    }
    int first = der[pos[0]++] & 0xff;
    if (first < 0x80) {
      return first;
    }
    int count = first & 0x7f;
    if (count > 2 || pos[0] + count > der.length) {
      throw new IllegalArgumentException("malformed DER ECDSA signature");
    }
    int length = 0;
    for (int i = 0; i < count; i++) {
      length = (length << 8) | (der[pos[0]++] & 0xff);
    }
    return length;
  }

  private static byte[] rsToDer(BigInteger r, BigInteger s) {
    byte[] rb = r.toByteArray();
    byte[] sb = s.toByteArray();
    int bodyLength = 2 + rb.length + 2 + sb.length;
    if (rb.length > 127
        || sb.length > 127
        || bodyLength > 127
        || r.signum() <= 0
        || s.signum() <= 0) {
      throw new IllegalArgumentException("malformed ECDSA signature values");
    }
    byte[] out = new byte[2 + bodyLength];
    int i = 0;
    out[i++] = 0x30;
    out[i++] = (byte) bodyLength;
    out[i++] = 0x02;
    out[i++] = (byte) rb.length;
    System.arraycopy(rb, 0, out, i, rb.length);
    i += rb.length;
    out[i++] = 0x02;
    out[i++] = (byte) sb.length;
    System.arraycopy(sb, 0, out, i, sb.length);
    return out;
  }
}
