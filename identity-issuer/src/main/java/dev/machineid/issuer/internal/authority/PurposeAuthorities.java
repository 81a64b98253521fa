package dev.machineid.issuer.internal.authority;

import dev.machineid.core.protocol.Pem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One authority per purpose (docs/architecture.md §5), beside the {@code issuer} authority: a certificate made
 * for one target is useless at another because each target trusts only its own authority.
 */
public final class PurposeAuthorities {
  /** The X.509 purposes, by their file-name stem. */
  public enum Purpose {
    SPIFFE("spiffe", "SPIFFE authority"),
    DATABASE_CLIENT("database-client", "database client authority"),
    DATABASE_SERVER("database-server", "database server authority"),
    KUBERNETES_CLIENT("kubernetes-client", "Kubernetes client authority");

    final String stem;
    final String title;

    Purpose(String stem, String title) {
      this.stem = stem;
      this.title = title;
    }
  }

  private final Map<Purpose, CertificateAuthority> x509;
  private final KeyPair jwtKey;

  private PurposeAuthorities(Map<Purpose, CertificateAuthority> x509, KeyPair jwtKey) {
    this.x509 = Map.copyOf(x509);
    this.jwtKey = jwtKey;
  }

  public CertificateAuthority get(Purpose purpose) {
    return x509.get(purpose);
  }

  /** The EC P-256 key that signs JWT-SVIDs. */
  public KeyPair jwtKey() {
    return jwtKey;
  }

  public static PurposeAuthorities generate(String trustDomain, Instant now, SecureRandom random) {
    Map<Purpose, CertificateAuthority> m = new LinkedHashMap<>();
    for (Purpose p : Purpose.values()) {
      m.put(p, CertificateAuthority.createNamed(trustDomain + " " + p.title, now, random));
    }
    return new PurposeAuthorities(m, CertificateAuthority.newP256(random));
  }

  /** The files of the purpose authorities and the JWT key that {@code dir} lacks (empty: complete). */
  public static java.util.List<String> missing(Path dir) {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (Purpose p : Purpose.values()) {
      for (String f : new String[] {p.stem + "-key.pem", p.stem + "-cert.pem"}) {
        if (!Files.exists(dir.resolve(f))) {
          out.add(f);
        }
      }
    }
    for (String f : new String[] {"jwt-key.pem", "jwt-public.pem"}) {
      if (!Files.exists(dir.resolve(f))) {
        out.add(f);
      }
    }
    return out;
  }

  /**
   * Loads each purpose's key and certificate from {@code dir}, creating the ones that are missing
   * (so a keys directory made before a purpose existed gains it), files mode 0600.
   */
  public static PurposeAuthorities loadOrCreate(
      Path dir, String trustDomain, Instant now, SecureRandom random) {
    try {
      KeyMaterial.createDirectory(dir);
      Map<Purpose, CertificateAuthority> m = new LinkedHashMap<>();
      for (Purpose p : Purpose.values()) {
        Path key = dir.resolve(p.stem + "-key.pem");
        Path cert = dir.resolve(p.stem + "-cert.pem");
        if (Files.exists(key) && Files.exists(cert)) {
          KeyMaterial.checkPrivate(key);
          PrivateKey k = Pem.privateKey(Files.readString(key, StandardCharsets.US_ASCII));
          X509Certificate c = Pem.certificate(Files.readString(cert, StandardCharsets.US_ASCII));
          m.put(p, new CertificateAuthority(new KeyPair(c.getPublicKey(), k), c, random));
        } else {
          CertificateAuthority ca =
              CertificateAuthority.createNamed(trustDomain + " " + p.title, now, random);
          KeyMaterial.writeSecret(cert, Pem.encode(ca.certificate()));
          KeyMaterial.writeSecret(key, Pem.encode(ca.keyPair().getPrivate()));
          m.put(p, ca);
        }
      }
      Path jwtKeyFile = dir.resolve("jwt-key.pem");
      Path jwtPubFile = dir.resolve("jwt-public.pem");
      KeyPair jwt;
      if (Files.exists(jwtKeyFile) && Files.exists(jwtPubFile)) {
        KeyMaterial.checkPrivate(jwtKeyFile);
        jwt = new KeyPair(
            Pem.publicKey(Files.readString(jwtPubFile, StandardCharsets.US_ASCII)),
            Pem.privateKey(Files.readString(jwtKeyFile, StandardCharsets.US_ASCII)));
      } else {
        jwt = CertificateAuthority.newP256(random);
        KeyMaterial.writeSecret(jwtPubFile, Pem.encode(jwt.getPublic()));
        KeyMaterial.writeSecret(jwtKeyFile, Pem.encode(jwt.getPrivate()));
      }
      return new PurposeAuthorities(m, jwt);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write the purpose authorities in " + dir, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "the purpose authorities in " + dir + " do not parse: " + e.getMessage(), e);
    }
  }
}
