package dev.machineid.issuer.internal.authority;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.ssh.SshCertificateAuthority;
import dev.machineid.issuer.internal.ssh.SshCertificateRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/** The {@code ssh_user} and {@code ssh_host} authorities: OpenSSH CAs with Ed25519 keys. */
public final class SshAuthorities {
  private final SshCertificateAuthority user;
  private final SshCertificateAuthority host;
  private final SecureRandom random;

  private SshAuthorities(
      SshCertificateAuthority user, SshCertificateAuthority host, SecureRandom random) {
    this.user = user;
    this.host = host;
    this.random = random;
  }

  public static SshAuthorities generate(SecureRandom random) {
    return new SshAuthorities(
        SshCertificateAuthority.generate(random), SshCertificateAuthority.generate(random), random);
  }

  /** Loads {@code ssh-user-ca.pem} and {@code ssh-host-ca.pem} (PKCS#8 and public key, 0600), creating missing ones. */
  public static SshAuthorities loadOrCreate(Path dir, SecureRandom random) {
    return new SshAuthorities(
        load(dir, "ssh-user-ca", random), load(dir, "ssh-host-ca", random), random);
  }

  /** The files of the SSH authorities that {@code dir} lacks (empty: complete). */
  public static List<String> missing(Path dir) {
    List<String> out = new java.util.ArrayList<>();
    for (String stem : new String[] {"ssh-user-ca", "ssh-host-ca"}) {
      for (String f : new String[] {stem + "-key.pem", stem + "-public.pem"}) {
        if (!Files.exists(dir.resolve(f))) {
          out.add(f);
        }
      }
    }
    return out;
  }

  private static SshCertificateAuthority load(Path dir, String stem, SecureRandom random) {
    Path key = dir.resolve(stem + "-key.pem");
    Path pub = dir.resolve(stem + "-public.pem");
    try {
      KeyMaterial.createDirectory(dir);
      if (Files.exists(key) && Files.exists(pub)) {
        KeyMaterial.checkPrivate(key);
        return SshCertificateAuthority.of(new KeyPair(
            Pem.publicKey(Files.readString(pub, StandardCharsets.US_ASCII)),
            Pem.privateKey(Files.readString(key, StandardCharsets.US_ASCII))));
      }
      SshCertificateAuthority ca = SshCertificateAuthority.generate(random);
      KeyMaterial.writeSecret(pub, Pem.encode(ca.keyPair().getPublic()));
      KeyMaterial.writeSecret(key, Pem.encode(ca.keyPair().getPrivate()));
      return ca;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or write " + stem + " in " + dir, e);
    }
  }

  /** The user CA's public key, an {@code authorized_keys} line for {@code TrustedUserCAKeys}. */
  public String userAuthority() {
    return user.authorizedKey();
  }

  /** The host CA's public key, for {@code @cert-authority} lines in {@code known_hosts}. */
  public String hostAuthority() {
    return host.authorizedKey();
  }

  public String signUser(
      String sshPublicKey, String keyId, List<String> principals, Instant now, Duration ttl) {
    return sign(user, SshCertificateRequest.Type.USER, sshPublicKey, keyId, principals, now, ttl);
  }

  public String signHost(
      String sshPublicKey, String keyId, List<String> principals, Instant now, Duration ttl) {
    return sign(
        host,
        SshCertificateRequest.Type.HOST,
        sshPublicKey,
        keyId,
        principals,
        now,
        ttl,
        random.nextLong() & Long.MAX_VALUE);
  }

  /** A signed certificate line and its serial, for the audit record. */
  public record Signed(String line, long serial) {}

  /** As {@link #signHost}, also returning the certificate's serial. */
  public Signed signHostCertificate(
      String sshPublicKey, String keyId, List<String> principals, Instant now, Duration ttl) {
    long serial = random.nextLong() & Long.MAX_VALUE;
    return new Signed(
        sign(
            host,
            SshCertificateRequest.Type.HOST,
            sshPublicKey,
            keyId,
            principals,
            now,
            ttl,
            serial),
        serial);
  }

  private String sign(
      SshCertificateAuthority ca,
      SshCertificateRequest.Type type,
      String sshPublicKey,
      String keyId,
      List<String> principals,
      Instant now,
      Duration ttl) {
    return sign(
        ca, type, sshPublicKey, keyId, principals, now, ttl, random.nextLong() & Long.MAX_VALUE);
  }

  private String sign(
      SshCertificateAuthority ca,
      SshCertificateRequest.Type type,
      String sshPublicKey,
      String keyId,
      List<String> principals,
      Instant now,
      Duration ttl,
      long serial) {
    PublicKey key;
    try {
      key = SshCertificateRequest.parseAuthorizedKey(sshPublicKey);
    } catch (IllegalArgumentException e) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST,
          "field 'ssh_public_key' is not an OpenSSH public key: " + e.getMessage());
    }
    Instant at = now.truncatedTo(ChronoUnit.SECONDS);
    return ca.sign(new SshCertificateRequest(
        key,
        type,
        keyId,
        principals,
        at.minus(CertificateAuthority.BACKDATE),
        at.plusSeconds(ttl.toSeconds()),
        serial));
  }
}
