package dev.machineid.issuer.internal.authority;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.Signing;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.audit.Auditor;
import dev.machineid.issuer.internal.authority.PurposeAuthorities.Purpose;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.KeyPurposeId;

/** {@link Signing} with the {@code database_server} and {@code ssh_host} authorities, each issuance audited. */
public final class SigningService implements Signing {
  private final PurposeAuthorities purposes;
  private final SshAuthorities ssh;
  private final Auditor audit;
  private final Clock clock;
  private final Duration maxTtl;
  private final Runnable open;

  /** @param open throws {@link IllegalStateException} once the issuer is closed */
  public SigningService(
      PurposeAuthorities purposes,
      SshAuthorities ssh,
      Auditor audit,
      Clock clock,
      Duration maxTtl,
      Runnable open) {
    this.purposes = purposes;
    this.ssh = ssh;
    this.audit = audit;
    this.clock = clock;
    this.maxTtl = maxTtl;
    this.open = open;
  }

  @Override
  public List<X509Certificate> databaseServer(PublicKey key, List<String> hostNames, Duration ttl) {
    open.run();
    Objects.requireNonNull(key, "key");
    key = Keys.check(key);
    hostNames = targetNames(hostNames, "a database server certificate");
    checkTtl(ttl);
    CertificateAuthority ca = purposes.get(Purpose.DATABASE_SERVER);
    List<GeneralName> sans = new ArrayList<>();
    for (String h : hostNames) {
      sans.add(CertificateAuthority.hostName(h));
    }
    X509Certificate leaf = ca.issueLeaf(
        new X500NameBuilder(BCStyle.INSTANCE)
            .addRDN(BCStyle.CN, hostNames.get(0))
            .build(),
        sans,
        List.of(KeyPurposeId.id_kp_serverAuth),
        key,
        clock.instant(),
        ttl);
    audit.success(
        "certificate.signed",
        null,
        null,
        Map.of(
            "kind",
            "database_server",
            "serial",
            CertificateAuthority.serialHex(leaf),
            "subject",
            String.join(",", hostNames)));
    return List.of(leaf, ca.certificate());
  }

  @Override
  public String sshHost(String sshPublicKey, List<String> hostNames, Duration ttl) {
    open.run();
    hostNames = targetNames(hostNames, "an SSH host certificate");
    checkTtl(ttl);
    SshAuthorities.Signed signed =
        ssh.signHostCertificate(sshPublicKey, hostNames.get(0), hostNames, clock.instant(), ttl);
    audit.success(
        "certificate.signed",
        null,
        null,
        Map.of(
            "kind",
            "ssh_host",
            "serial",
            Long.toUnsignedString(signed.serial()),
            "ttl",
            ttl.toString(),
            "subject",
            String.join(",", hostNames)));
    return signed.line();
  }

  @Override
  public Duration maxTtl() {
    return maxTtl;
  }

  private void checkTtl(Duration ttl) {
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(maxTtl) > 0) {
      throw new ProblemException(
          ErrorCode.TTL_EXCEEDED,
          "ttl must be from 1s to " + maxTtl + " (the issuer's sign_max_ttl), got " + ttl,
          "issuer sign asked for " + ttl + ", above sign_max_ttl " + maxTtl);
    }
  }

  /** The host names of a target certificate, each checked ({@code CertificateAuthority#checkHostName}). */
  private static List<String> targetNames(List<String> hostNames, String what) {
    if (hostNames == null || hostNames.isEmpty()) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST, what + " needs at least one host name");
    }
    if (hostNames.size() > 100) {
      throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, what + " names at most 100 hosts");
    }
    List<String> out = new ArrayList<>();
    for (String h : hostNames) {
      out.add(CertificateAuthority.checkHostName(h));
    }
    return List.copyOf(out);
  }
}
