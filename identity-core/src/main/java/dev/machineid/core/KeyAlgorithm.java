package dev.machineid.core;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Locale;

/** The algorithm of the key pairs the SDK makes for every issuance. EC P-256 is the default. */
public enum KeyAlgorithm {
  EC_P256("SHA256withECDSA"),
  ED25519("Ed25519"),
  RSA_2048("SHA256withRSA");

  private final String signatureAlgorithm;

  KeyAlgorithm(String signatureAlgorithm) {
    this.signatureAlgorithm = signatureAlgorithm;
  }

  /** The JCA signature algorithm used for {@code challenge_signature} with this key type. */
  public String signatureAlgorithm() {
    return signatureAlgorithm;
  }

  /** Makes a fresh key pair in this process. */
  public KeyPair generate() {
    try {
      switch (this) {
        case EC_P256 -> {
          KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
          g.initialize(new ECGenParameterSpec("secp256r1"));
          return g.generateKeyPair();
        }
        case ED25519 -> {
          return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        }
        default -> {
          KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
          g.initialize(2048);
          return g.generateKeyPair();
        }
      }
    } catch (GeneralSecurityException e) {
      throw new IdentityException("cannot generate a " + this + " key pair: " + e.getMessage(), e);
    }
  }

  /** The algorithm of an existing private key; used to sign with a key loaded from storage. */
  public static KeyAlgorithm of(PrivateKey key) {
    String a = key.getAlgorithm().toUpperCase(Locale.ROOT);
    return switch (a) {
      case "EC" -> EC_P256;
      case "ED25519", "EDDSA" -> ED25519;
      case "RSA" -> RSA_2048;
      default ->
        throw new IllegalArgumentException("unsupported key algorithm " + key.getAlgorithm());
    };
  }

  /** Parses {@code ec-p256}, {@code ed25519} or {@code rsa-2048} (case-insensitive, '_' or '-'). */
  public static KeyAlgorithm parse(String text) {
    String t = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (KeyAlgorithm k : values()) {
      if (k.name().equals(t)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "unknown key algorithm '" + text + "'; use ec-p256, ed25519 or rsa-2048");
  }
}
