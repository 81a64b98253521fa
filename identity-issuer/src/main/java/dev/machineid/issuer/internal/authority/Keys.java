package dev.machineid.issuer.internal.authority;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.ProblemException;
import java.io.IOException;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.EdECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.EllipticCurve;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Encoding;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Parsing, checking and signature verification of the public keys clients ask to certify.
 *
 * <p>Every key is checked on its DER encoding before anything is verified or signed with it, by
 * this class and not by whichever JCA provider happens to be installed, so that the answer is the
 * same under every {@code crypto_provider}: the encoding must be canonical DER; EC keys must name
 * the P-256 curve by its OID (explicit curve parameters are refused) and carry an uncompressed
 * point that lies on the curve; Ed25519 keys must be canonically encoded points of the prime-order
 * subgroup (small-order points such as the identity, which verify the "universal" signature, are
 * refused); RSA keys must have 2048 to 8192 bits, an odd modulus and an odd exponent from 65537 to
 * 2^32 - 1. Keys are then built and signatures verified with the JDK's own providers
 * ({@code SunEC}, {@code SunRsaSign}), named by instance.
 */
public final class Keys {
  private static final ASN1ObjectIdentifier EC_PUBLIC_KEY =
      new ASN1ObjectIdentifier("1.2.840.10045.2.1");
  private static final ASN1ObjectIdentifier P256 = new ASN1ObjectIdentifier("1.2.840.10045.3.1.7");
  private static final ASN1ObjectIdentifier ED25519 = new ASN1ObjectIdentifier("1.3.101.112");
  private static final ASN1ObjectIdentifier RSA = new ASN1ObjectIdentifier("1.2.840.113549.1.1.1");
  /** The smallest RSA public exponent accepted (F4). */
  static final BigInteger MIN_RSA_EXPONENT = BigInteger.valueOf(65537);
  /** The largest RSA public exponent accepted, bounding the cost of a verification. */
  static final BigInteger MAX_RSA_EXPONENT = BigInteger.ONE.shiftLeft(32).subtract(BigInteger.ONE);

  static final int MIN_RSA_BITS = 2048;
  static final int MAX_RSA_BITS = 8192;
  private static final ECParameterSpec P256_PARAMS = p256();
  private static final String JDK_EC = "SunEC";
  private static final String JDK_RSA = "SunRsaSign";

  private Keys() {}

  /**
   * Parses a {@code PUBLIC KEY} PEM and checks it as described in the class comment.
   *
   * @throws ProblemException {@code malformed_request} otherwise, saying what is wrong
   */
  public static PublicKey parse(String pem) {
    List<byte[]> blocks;
    try {
      blocks = Pem.decodeAll(pem, "PUBLIC KEY");
    } catch (IllegalArgumentException e) {
      throw bad("public_key is not a PEM SubjectPublicKeyInfo of an EC P-256, Ed25519 or RSA key");
    }
    if (blocks.size() != 1) {
      throw bad("public_key is not a PEM SubjectPublicKeyInfo of an EC P-256, Ed25519 or RSA key");
    }
    return fromSpki(blocks.get(0));
  }

  /**
   * Checks a key that was read some other way (an {@code authorized_keys} line): the same checks
   * as {@link #parse}, on its SubjectPublicKeyInfo encoding.
   *
   * @return the key rebuilt by the JDK's providers
   * @throws ProblemException {@code malformed_request} if the key fails a check
   */
  public static PublicKey check(PublicKey key) {
    byte[] der = key.getEncoded();
    if (der == null) {
      throw bad("public_key: the key has no SubjectPublicKeyInfo encoding");
    }
    return fromSpki(der);
  }

  /** Checks a DER SubjectPublicKeyInfo and builds the key with the JDK's providers. */
  static PublicKey fromSpki(byte[] der) {
    SubjectPublicKeyInfo spki;
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(der);
      spki = SubjectPublicKeyInfo.getInstance(p);
      if (!Arrays.equals(der, spki.getEncoded(ASN1Encoding.DER))) {
        throw bad("public_key: the SubjectPublicKeyInfo is not canonical DER");
      }
    } catch (IOException | IllegalArgumentException | ClassCastException e) {
      throw bad("public_key is not a DER SubjectPublicKeyInfo of an EC P-256, Ed25519 or RSA key");
    }
    ASN1ObjectIdentifier algorithm = spki.getAlgorithm().getAlgorithm();
    ASN1Encodable parameters = spki.getAlgorithm().getParameters();
    byte[] bits = spki.getPublicKeyData().getBytes();
    if (spki.getPublicKeyData().getPadBits() != 0) {
      throw bad("public_key: the key's bit string has unused bits");
    }
    try {
      if (algorithm.equals(EC_PUBLIC_KEY)) {
        if (!P256.equals(parameters)) {
          throw bad(
              "public_key: EC keys must name the P-256 curve (OID 1.2.840.10045.3.1.7); explicit or other curve parameters are refused");
        }
        return KeyFactory.getInstance("EC", JDK_EC)
            .generatePublic(new ECPublicKeySpec(p256Point(bits), P256_PARAMS));
      }
      if (algorithm.equals(ED25519)) {
        if (parameters != null) {
          throw bad("public_key: an Ed25519 key has no algorithm parameters");
        }
        if (bits.length != 32) {
          throw bad("public_key: an Ed25519 key has 32 bytes, this one " + bits.length);
        }
        if (!Ed25519.validatePublicKeyFull(bits, 0)) {
          throw bad(
              "public_key: the Ed25519 key is not a canonically encoded point of the prime-order subgroup (small-order and non-canonical points are refused)");
        }
        return KeyFactory.getInstance("Ed25519", JDK_EC)
            .generatePublic(new X509EncodedKeySpec(der));
      }
      if (algorithm.equals(RSA)) {
        if (parameters != null && !DERNull.INSTANCE.equals(parameters)) {
          throw bad("public_key: rsaEncryption takes NULL parameters");
        }
        ASN1Sequence seq = ASN1Sequence.getInstance(ASN1Primitive.fromByteArray(bits));
        if (seq.size() != 2) {
          throw bad("public_key: an RSA key is a sequence of modulus and exponent");
        }
        BigInteger n = ASN1Integer.getInstance(seq.getObjectAt(0)).getPositiveValue();
        BigInteger e = ASN1Integer.getInstance(seq.getObjectAt(1)).getPositiveValue();
        checkRsa(n, e);
        return KeyFactory.getInstance("RSA", JDK_RSA).generatePublic(new RSAPublicKeySpec(n, e));
      }
    } catch (GeneralSecurityException
        | IOException
        | IllegalArgumentException
        | ClassCastException e) {
      throw bad("public_key: the key does not parse (" + e.getClass().getSimpleName() + ")");
    }
    throw bad("public_key: unsupported key algorithm " + algorithm.getId()
        + "; use EC P-256, Ed25519 or RSA");
  }

  private static void checkRsa(BigInteger n, BigInteger e) {
    int size = n.bitLength();
    if (size < MIN_RSA_BITS || size > MAX_RSA_BITS) {
      throw bad("public_key: RSA keys must have " + MIN_RSA_BITS + " to " + MAX_RSA_BITS
          + " bits, this one has " + size);
    }
    if (!n.testBit(0)) {
      throw bad("public_key: the RSA modulus is even");
    }
    if (!e.testBit(0) || e.compareTo(MIN_RSA_EXPONENT) < 0 || e.compareTo(MAX_RSA_EXPONENT) > 0) {
      throw bad(
          "public_key: the RSA public exponent must be odd and from 65537 to 2^32-1 (weak exponents such as 1 or 3 are refused)");
    }
  }

  /** Decodes an uncompressed SEC1 point and checks it lies on P-256. */
  private static ECPoint p256Point(byte[] encoded) {
    if (encoded.length != 65 || encoded[0] != 0x04) {
      throw bad("public_key: EC points must be uncompressed (65 bytes starting 0x04)");
    }
    BigInteger x = new BigInteger(1, Arrays.copyOfRange(encoded, 1, 33));
    BigInteger y = new BigInteger(1, Arrays.copyOfRange(encoded, 33, 65));
    EllipticCurve curve = P256_PARAMS.getCurve();
    BigInteger p = ((java.security.spec.ECFieldFp) curve.getField()).getP();
    if (x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
      throw bad("public_key: the EC point's coordinates are not reduced modulo the field prime");
    }
    // y^2 = x^3 + a x + b (mod p); P-256 has cofactor 1, so every point on it but the identity
    // (which has no affine encoding) generates the whole group.
    BigInteger left = y.multiply(y).mod(p);
    BigInteger right = x.pow(3).add(curve.getA().multiply(x)).add(curve.getB()).mod(p);
    if (!left.equals(right)) {
      throw bad("public_key: the EC point is not on the P-256 curve");
    }
    return new ECPoint(x, y);
  }

  private static ECParameterSpec p256() {
    try {
      AlgorithmParameters a = AlgorithmParameters.getInstance("EC", JDK_EC);
      a.init(new ECGenParameterSpec("secp256r1"));
      return a.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK's SunEC provider does not know P-256", e);
    }
  }

  private static ProblemException bad(String message) {
    return ProblemException.of(ErrorCode.MALFORMED_REQUEST, message);
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

  /**
   * True if {@code signature} is a valid signature of {@code data} by the key's private half. The
   * key is checked first ({@link #check}): a key that fails a check verifies nothing. Verification
   * uses the JDK's providers by name, whatever {@code crypto_provider} says.
   */
  public static boolean verify(PublicKey key, byte[] data, byte[] signature) {
    PublicKey checked;
    try {
      checked = check(key);
    } catch (ProblemException e) {
      return false;
    }
    try {
      String algorithm = signatureAlgorithm(checked);
      Signature s =
          Signature.getInstance(algorithm, checked instanceof RSAPublicKey ? JDK_RSA : JDK_EC);
      s.initVerify(checked);
      s.update(data);
      return s.verify(signature);
    } catch (GeneralSecurityException | RuntimeException e) {
      return false;
    }
  }
}
