package dev.machineid.core.protocol;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** PEM encoding and decoding of certificates and keys, with the JDK only. */
public final class Pem {
  /** Possessive quantifiers: linear time on any input, so a hostile PEM cannot stall a parser. */
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]{1,40}+)-----([A-Za-z0-9+/=\\s]*+)-----END \\1-----");
  /** Larger than any certificate chain or key the project handles. */
  private static final int MAX_PEM_CHARS = 256 * 1024;

  private static final String[] KEY_ALGORITHMS = {"EC", "Ed25519", "RSA"};

  private Pem() {}

  /** Encodes DER bytes as one PEM block with 64-character lines. */
  public static String encode(String type, byte[] der) {
    Objects.requireNonNull(type, "type");
    String body =
        Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der);
    return "-----BEGIN " + type + "-----\n" + body + "\n-----END " + type + "-----\n";
  }

  public static String encode(X509Certificate certificate) {
    try {
      return encode("CERTIFICATE", certificate.getEncoded());
    } catch (CertificateException e) {
      throw new IllegalArgumentException("certificate cannot be encoded", e);
    }
  }

  public static String encode(PublicKey key) {
    return encode("PUBLIC KEY", key.getEncoded());
  }

  /** PKCS#8 {@code PRIVATE KEY}. */
  public static String encode(PrivateKey key) {
    return encode("PRIVATE KEY", key.getEncoded());
  }

  /** The DER bodies of every block of the given type, in order. */
  public static List<byte[]> decodeAll(String pem, String type) {
    Objects.requireNonNull(pem, "pem");
    if (pem.length() > MAX_PEM_CHARS) {
      throw new IllegalArgumentException(
          "PEM text of " + pem.length() + " characters exceeds " + MAX_PEM_CHARS);
    }
    List<byte[]> out = new ArrayList<>();
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals(type)) {
        try {
          out.add(Base64.getMimeDecoder().decode(m.group(2).strip()));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("PEM block " + type + " is not valid base64", e);
        }
      }
    }
    return out;
  }

  private static byte[] decodeOne(String pem, String type) {
    List<byte[]> all = decodeAll(pem, type);
    if (all.size() != 1) {
      throw new IllegalArgumentException(
          "expected exactly one PEM block '" + type + "', found " + all.size());
    }
    return all.get(0);
  }

  public static X509Certificate certificate(String pem) {
    return certificate(decodeOne(pem, "CERTIFICATE"));
  }

  public static List<X509Certificate> certificates(String pem) {
    List<X509Certificate> out = new ArrayList<>();
    for (byte[] der : decodeAll(pem, "CERTIFICATE")) {
      out.add(certificate(der));
    }
    return out;
  }

  public static X509Certificate certificate(byte[] der) {
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IllegalArgumentException("not a valid X.509 certificate: " + e.getMessage(), e);
    }
  }

  /** Parses a {@code PUBLIC KEY} (SubjectPublicKeyInfo) block; EC, Ed25519 and RSA are recognised. */
  public static PublicKey publicKey(String pem) {
    return publicKey(decodeOne(pem, "PUBLIC KEY"));
  }

  public static PublicKey publicKey(byte[] spki) {
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(spki));
      } catch (GeneralSecurityException | IllegalArgumentException ignored) {
        // try the next algorithm
      }
    }
    throw new IllegalArgumentException(
        "public key is not an EC, Ed25519 or RSA SubjectPublicKeyInfo");
  }

  /** Parses a PKCS#8 {@code PRIVATE KEY} block; EC, Ed25519 and RSA are recognised. */
  public static PrivateKey privateKey(String pem) {
    byte[] der = decodeOne(pem, "PRIVATE KEY");
    for (String algorithm : KEY_ALGORITHMS) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException | IllegalArgumentException ignored) {
        // try the next algorithm
      }
    }
    throw new IllegalArgumentException("private key is not an EC, Ed25519 or RSA PKCS#8 key");
  }
}
