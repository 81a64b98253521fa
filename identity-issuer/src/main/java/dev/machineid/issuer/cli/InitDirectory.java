package dev.machineid.issuer.cli;

import dev.machineid.core.CaPin;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.admin.AdminClient;
import dev.machineid.issuer.config.IssuerConfig;
import dev.machineid.issuer.internal.IoReasons;
import dev.machineid.issuer.internal.admin.AdminCertificates;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.KeyMaterial;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;

/**
 * The directory {@code issuer init} made: {@code issuer.yaml}, {@code keys/} (authority), and
 * {@code admin/} ({@code admin-key.pem} 0600, {@code admin-cert.pem}, {@code ca.pem}); while
 * {@code serve} runs, {@code issuer.url} holds the address it is bound to.
 */
final class InitDirectory {
  static final String URL_FILE = "issuer.url";
  static final String ADMIN_KEY = "admin-key.pem";
  static final String ADMIN_CERT = "admin-cert.pem";
  static final String CA_FILE = "ca.pem";

  final Path dir;
  final IssuerConfig config;

  private InitDirectory(Path dir, IssuerConfig config) {
    this.dir = dir;
    this.config = config;
  }

  static InitDirectory open(Path dir) {
    Path file = dir.resolve(IssuerConfig.FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw new CliException("no " + IssuerConfig.FILE_NAME + " in " + dir.toAbsolutePath()
          + "; run this from the directory 'issuer init' made, or pass --dir DIR");
    }
    return new InitDirectory(dir, IssuerConfig.load(file));
  }

  /** The authority certificate: from the keys directory, else the admin directory's copy. */
  X509Certificate authority() {
    Path keys = config.keysDir().resolve(KeyMaterial.AUTHORITY_CERT);
    Path copy = config.adminDir().resolve(CA_FILE);
    Path p = Files.isReadable(keys) ? keys : copy;
    if (!Files.isReadable(p)) {
      throw new CliException("no authority certificate at " + keys + " or " + copy + "; is "
          + dir.toAbsolutePath() + " an issuer init directory?");
    }
    return Pem.certificate(read(p));
  }

  CaPin caPin() {
    return CaPin.of(authority());
  }

  /** The address: --server, else the running serve's issuer.url, else host_names[0] and the listen port. */
  URI server(String override) {
    if (override != null) {
      return URI.create(override);
    }
    Path url = dir.resolve(URL_FILE);
    if (Files.isReadable(url)) {
      return URI.create(read(url).trim());
    }
    String host = config.hostNames().get(0);
    return URI.create(
        "https://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + config.listenPort());
  }

  /** A client with the admin identity, re-issued first from the authority key when it is expired or near expiry. */
  AdminClient client(String serverOverride, Instant now) {
    Path key = config.adminDir().resolve(ADMIN_KEY);
    Path cert = config.adminDir().resolve(ADMIN_CERT);
    if (!Files.isReadable(key) || !Files.isReadable(cert)) {
      throw new CliException("no admin identity in " + config.adminDir() + " (" + ADMIN_KEY + ", "
          + ADMIN_CERT + "); run from the init directory or pass --dir DIR");
    }
    X509Certificate leaf = Pem.certificate(read(cert));
    Instant notAfter = leaf.getNotAfter().toInstant();
    Duration life = Duration.between(leaf.getNotBefore().toInstant(), notAfter);
    boolean stale = now.isAfter(notAfter.minus(life.dividedBy(4)));
    if (stale && Files.isReadable(config.keysDir().resolve(KeyMaterial.AUTHORITY_KEY))) {
      reissueAdmin(adminName(leaf), AdminCertificates.DEFAULT_TTL, now);
      leaf = Pem.certificate(read(cert));
    } else if (now.isAfter(notAfter)) {
      throw new CliException(
          "the admin certificate in " + cert + " expired at " + notAfter
              + " and the authority key is not here to re-issue it; run 'issuer admin reissue' where the keys are");
    }
    PrivateKey pk = Pem.privateKey(read(key));
    return new AdminClient(server(serverOverride), authority(), pk, new X509Certificate[] {leaf});
  }

  static String adminName(X509Certificate cert) {
    String cn = CertificateAuthority.commonName(cert);
    return cn != null && cn.startsWith("admin-") ? cn.substring(6) : "admin";
  }

  X509Certificate adminCertificate() {
    return Pem.certificate(read(config.adminDir().resolve(ADMIN_CERT)));
  }

  /** Signs a new admin certificate locally with the authority key (needs {@code keys/}). */
  X509Certificate reissueAdmin(String name, Duration ttl, Instant now) {
    SecureRandom random = new SecureRandom();
    KeyMaterial keys;
    try {
      keys = KeyMaterial.loadOrCreate(config.keysDir(), config.trustDomain(), now, random);
    } catch (RuntimeException e) {
      throw new CliException(
          "cannot read the authority keys in " + config.keysDir() + ": " + e.getMessage());
    }
    KeyPair kp = CertificateAuthority.newP256(random);
    X509Certificate c = AdminCertificates.issue(
        keys.authority(), config.trustDomain(), name, kp.getPublic(), now, ttl, random);
    writeAdmin(config.adminDir(), kp.getPrivate(), c, keys.authority().certificate());
    return c;
  }

  static void writeAdmin(Path adminDir, PrivateKey key, X509Certificate cert, X509Certificate ca) {
    try {
      Files.createDirectories(adminDir);
      writePrivate(adminDir.resolve(ADMIN_KEY), Pem.encode(key));
      writePublic(adminDir.resolve(ADMIN_CERT), Pem.encode(cert));
      writePublic(adminDir.resolve(CA_FILE), Pem.encode(ca));
    } catch (IOException e) {
      throw new CliException(
          "cannot write the admin identity to " + adminDir + ": " + e.getMessage());
    }
  }

  static void writePrivate(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    if (Files.getFileAttributeView(
            file.getParent(), PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
        != null) {
      Files.createFile(
          tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } else {
      Files.createFile(tmp);
    }
    Files.writeString(tmp, content, StandardCharsets.US_ASCII);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static void writePublic(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, content, StandardCharsets.UTF_8);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  static String read(Path p) {
    try {
      return Files.readString(p, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CliException("cannot read " + p + ": " + IoReasons.file(p, e));
    }
  }
}
