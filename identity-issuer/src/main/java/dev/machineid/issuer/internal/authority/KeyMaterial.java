package dev.machineid.issuer.internal.authority;

import dev.machineid.core.protocol.Pem;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

/**
 * The issuer's long-lived secrets: the authority key and certificate and the challenge MAC key.
 * In memory, or as files of mode 0600 in a keys directory, created on first use and reloaded
 * afterwards.
 */
public final class KeyMaterial {
  public static final String AUTHORITY_KEY = "authority-key.pem";
  public static final String AUTHORITY_CERT = "authority-cert.pem";
  public static final String MAC_KEY = "challenge-mac.key";
  public static final String SERVED_MARKER = "served";
  private static final Set<PosixFilePermission> OWNER_RW =
      EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

  private final CertificateAuthority authority;
  private final byte[] macKey;

  private KeyMaterial(CertificateAuthority authority, byte[] macKey) {
    this.authority = authority;
    this.macKey = macKey;
  }

  public CertificateAuthority authority() {
    return authority;
  }

  public byte[] macKey() {
    return macKey.clone();
  }

  /** New keys in memory. */
  public static KeyMaterial generate(String trustDomain, Instant now, SecureRandom random) {
    byte[] mac = new byte[32];
    random.nextBytes(mac);
    return new KeyMaterial(CertificateAuthority.create(trustDomain, now, random), mac);
  }

  /**
   * Loads the keys from {@code dir}, or creates them there if none of the files exists.
   *
   * @throws IllegalStateException if only some files exist, a file is readable by others, or the
   *     files do not parse
   */
  public static KeyMaterial loadOrCreate(
      Path dir, String trustDomain, Instant now, SecureRandom random) {
    Path keyFile = dir.resolve(AUTHORITY_KEY);
    Path certFile = dir.resolve(AUTHORITY_CERT);
    Path macFile = dir.resolve(MAC_KEY);
    boolean key = Files.exists(keyFile);
    boolean cert = Files.exists(certFile);
    boolean mac = Files.exists(macFile);
    try {
      if (!key && !cert && !mac) {
        createDirectory(dir);
        KeyMaterial created = generate(trustDomain, now, random);
        KeyPair kp = created.authority.keyPair();
        writeSecret(certFile, Pem.encode(created.authority.certificate()));
        writeSecret(macFile, Base64.getEncoder().encodeToString(created.macKey) + "\n");
        // the key last: its presence marks a complete set
        writeSecret(keyFile, Pem.encode(kp.getPrivate()));
        return created;
      }
      if (!(key && cert && mac)) {
        throw new IllegalStateException(
            "keys directory " + dir + " holds only some of " + AUTHORITY_KEY + ", " + AUTHORITY_CERT
                + " and " + MAC_KEY
                + "; restore the missing files or empty the directory to create a new authority (clients will need the new CA pin)");
      }
      for (Path p : new Path[] {keyFile, certFile, macFile}) {
        checkPrivate(p);
      }
      PrivateKey privateKey = Pem.privateKey(Files.readString(keyFile, StandardCharsets.US_ASCII));
      X509Certificate certificate =
          Pem.certificate(Files.readString(certFile, StandardCharsets.US_ASCII));
      byte[] macKey = Base64.getDecoder()
          .decode(Files.readString(macFile, StandardCharsets.US_ASCII).trim());
      if (macKey.length < 32) {
        throw new IllegalStateException(macFile + " must hold at least 32 bytes (base64)");
      }
      return new KeyMaterial(
          new CertificateAuthority(
              new KeyPair(certificate.getPublicKey(), privateKey), certificate, random),
          macKey);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write the issuer keys in " + dir, e);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(
          "the issuer keys in " + dir + " do not parse: " + e.getMessage(), e);
    }
  }

  /**
   * The marker {@code issuer serve} leaves in the keys directory once it has served from a store
   * (0600, one line: CA pin, time, store), or {@code null} if it never has. A store that has no
   * serving record behind a keys directory with this marker is a store pointed at the wrong place.
   */
  public static String servedMarker(Path dir) {
    Path f = dir.resolve(SERVED_MARKER);
    try {
      return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8).strip() : null;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
  }

  /** Writes the served marker unless it exists. */
  public static void markServed(Path dir, String line) {
    Path f = dir.resolve(SERVED_MARKER);
    if (Files.exists(f)) {
      return;
    }
    try {
      writeSecret(f, line.strip() + "\n");
    } catch (FileAlreadyExistsException e) {
      // another process on this directory wrote it first
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f, e);
    }
  }

  private static boolean posix(Path p) {
    return Files.getFileAttributeView(p, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        != null;
  }

  static void createDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    if (posix(
        dir.toAbsolutePath().getParent() == null
            ? dir.toAbsolutePath()
            : dir.toAbsolutePath().getParent())) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else {
      Files.createDirectories(dir);
    }
  }

  static void writeSecret(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    if (posix(file.getParent())) {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_RW));
    } else {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, file);
    } catch (FileAlreadyExistsException e) {
      Files.deleteIfExists(tmp);
      throw e;
    }
  }

  static void checkPrivate(Path file) throws IOException {
    if (!posix(file)) {
      return;
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
    for (PosixFilePermission p : perms) {
      if (!OWNER_RW.contains(p) && p != PosixFilePermission.OWNER_EXECUTE) {
        throw new IllegalStateException(file + " has mode " + PosixFilePermissions.toString(perms)
            + ", readable or writable by others; run chmod 600 on it");
      }
    }
  }
}
