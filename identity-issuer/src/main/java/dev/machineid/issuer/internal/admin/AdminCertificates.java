package dev.machineid.issuer.internal.admin;

import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.CredentialMarks;
import dev.machineid.issuer.internal.http.ClientCertificates;
import dev.machineid.issuer.internal.join.IdentityDecisions;
import java.net.URI;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collection;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/**
 * Admin client certificates: {@code CN=admin-<name>}, URI SAN {@code spiffe://<td>/admin/<name>},
 * EKU clientAuth only, no bot extension, signed by the {@code issuer} authority. The bot endpoints
 * refuse them (no {@code bot-} name, no instance), and {@link #adminName} refuses bot certificates.
 */
public final class AdminCertificates {
  public static final Duration DEFAULT_TTL = Duration.ofHours(12);
  public static final Duration MAX_TTL = Duration.ofHours(24);

  private AdminCertificates() {}

  public static X509Certificate issue(
      CertificateAuthority ca,
      String trustDomain,
      String name,
      PublicKey key,
      Instant now,
      Duration ttl,
      SecureRandom random) {
    return issue(ca, trustDomain, name, key, now, ttl, random, null);
  }

  /**
   * An admin certificate renewed through {@code /v1/admin/renew} from the certificate with serial
   * {@code fromSerial}: marked ({@link CredentialMarks#RENEWED_ADMIN}) so that a lock on that serial
   * refuses it too and it cannot renew again.
   */
  public static X509Certificate renew(
      CertificateAuthority ca,
      String trustDomain,
      String name,
      String fromSerial,
      PublicKey key,
      Instant now,
      Duration ttl,
      SecureRandom random) {
    return issue(
        ca, trustDomain, name, key, now, ttl, random, CredentialMarks.renewedAdmin(fromSerial));
  }

  /** The serial an admin certificate was renewed from, if {@code /v1/admin/renew} made it. */
  public static Optional<String> renewedFrom(X509Certificate certificate) {
    return CredentialMarks.renewedFrom(certificate);
  }

  /**
   * When the certificate was signed: the instant in the issuer's {@link CredentialMarks#ADMIN_ISSUED}
   * mark when it has one that agrees with the validity (from {@code notBefore} to {@code notBefore}
   * plus the back-dating, {@link CertificateAuthority#BACKDATE}, and a second of truncation);
   * otherwise, for a certificate made by other tooling, its {@code notBefore} itself, since nothing
   * says it was back-dated.
   */
  public static Instant issuedAt(X509Certificate certificate) {
    Instant notBefore = certificate.getNotBefore().toInstant();
    Instant latest = notBefore.plus(CertificateAuthority.BACKDATE).plusSeconds(1);
    return CredentialMarks.adminIssuedAt(certificate)
        .filter(at -> !at.isBefore(notBefore) && !at.isAfter(latest))
        .orElse(notBefore);
  }

  /** True if {@code /v1/admin/renew} made the certificate (whether or not its mark parses). */
  public static boolean isRenewed(X509Certificate certificate) {
    return CredentialMarks.has(certificate, CredentialMarks.RENEWED_ADMIN);
  }

  private static X509Certificate issue(
      CertificateAuthority ca,
      String trustDomain,
      String name,
      PublicKey key,
      Instant now,
      Duration ttl,
      SecureRandom random,
      Extension mark) {
    if (ttl.compareTo(Duration.ofSeconds(1)) < 0 || ttl.compareTo(MAX_TTL) > 0) {
      throw new IllegalArgumentException("admin certificate TTL must be 1s to 24h, got " + ttl);
    }
    Instant at = now.truncatedTo(ChronoUnit.SECONDS);
    try {
      X500Name issuer =
          X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
      X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
          .addRDN(BCStyle.CN, "admin-" + name)
          .build();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          issuer,
          CertificateAuthority.serial(random),
          Date.from(at.minus(CertificateAuthority.BACKDATE)),
          Date.from(at.plus(ttl)),
          subject,
          key);
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(
              new GeneralName(GeneralName.uniformResourceIdentifier, uri(trustDomain, name))));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      b.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(ca.certificate()));
      b.addExtension(CredentialMarks.adminIssued(now));
      if (mark != null) {
        b.addExtension(mark);
      }
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(
              CertificateAuthority.signer("SHA256withECDSA").build(ca.keyPair().getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException("cannot issue an admin certificate", e);
    }
  }

  public static String uri(String trustDomain, String name) {
    return "spiffe://" + trustDomain + "/admin/" + name;
  }

  /**
   * The admin name of a presented chain, after checking that its leaf is signed by the authority,
   * valid at {@code now}, a clientAuth end-entity certificate, named {@code admin-<name>} with the
   * matching SPIFFE URI and no bot extension.
   *
   * @throws ProblemException {@code unauthenticated} otherwise (bot certificates included)
   */
  public static String adminName(
      X509Certificate[] peer, CertificateAuthority ca, String trustDomain, Instant now) {
    if (peer == null || peer.length == 0) {
      throw new ProblemException(
          dev.machineid.core.ErrorCode.UNAUTHENTICATED,
          "an admin client certificate is required",
          "admin call without a client certificate");
    }
    X509Certificate leaf = peer[0];
    try {
      if (!leaf.getIssuerX500Principal().equals(ca.certificate().getSubjectX500Principal())) {
        throw new GeneralSecurityException("issued by " + leaf.getIssuerX500Principal());
      }
      leaf.verify(ca.certificate().getPublicKey());
      leaf.checkValidity(Date.from(now));
    } catch (GeneralSecurityException e) {
      throw refused("admin certificate not from the issuer authority or outside its validity: "
          + e.getMessage());
    }
    List<String> eku;
    try {
      eku = leaf.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      eku = null;
    }
    if (!ClientCertificates.forClientAuth(leaf, eku)) {
      throw refused("admin certificate " + ClientCertificates.describeUsage(leaf, eku));
    }
    if (IdentityExtension.from(leaf).isPresent()) {
      throw refused("a bot certificate was presented to the admin API");
    }
    String cn = CertificateAuthority.commonName(leaf);
    if (cn == null || !cn.startsWith("admin-")) {
      throw refused("client certificate "
          + (cn == null ? "without a CN" : "CN=" + IdentityDecisions.printable(cn))
          + " is not an admin identity");
    }
    String name = cn.substring("admin-".length());
    if (!uris(leaf).contains(uri(trustDomain, name))) {
      throw refused("admin certificate for '" + IdentityDecisions.printable(name)
          + "' lacks the URI SAN " + uri(trustDomain, name));
    }
    return name;
  }

  private static List<String> uris(X509Certificate cert) {
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans == null) {
        return List.of();
      }
      return sans.stream()
          .filter(l -> Integer.valueOf(6).equals(l.get(0)))
          .map(l -> String.valueOf(l.get(1)))
          .map(s -> URI.create(s).toString())
          .toList();
    } catch (CertificateParsingException | IllegalArgumentException e) {
      return List.of();
    }
  }

  private static ProblemException refused(String reason) {
    return new ProblemException(
        dev.machineid.core.ErrorCode.UNAUTHENTICATED,
        "an admin client certificate of this issuer is required",
        reason);
  }
}
