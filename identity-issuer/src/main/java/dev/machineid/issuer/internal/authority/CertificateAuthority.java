package dev.machineid.issuer.internal.authority;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.SpiffeId;
import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.ProblemException;
import dev.machineid.issuer.internal.Text;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
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
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The {@code issuer} authority: an EC P-256 CA that signs the issuer's TLS certificate and bot
 * identities with SHA256withECDSA. Signing uses the JDK's providers; Bouncy Castle only builds the
 * certificate structures.
 */
public final class CertificateAuthority {
  public static final Duration CA_VALIDITY = Duration.ofDays(3650);
  public static final Duration BACKDATE = Duration.ofMinutes(1);
  private static final String SIGNATURE = "SHA256withECDSA";

  private final KeyPair keyPair;
  private final X509Certificate certificate;
  private final SecureRandom random;

  public CertificateAuthority(KeyPair keyPair, X509Certificate certificate, SecureRandom random) {
    this.keyPair = Objects.requireNonNull(keyPair, "keyPair");
    this.certificate = Objects.requireNonNull(certificate, "certificate");
    this.random = Objects.requireNonNull(random, "random");
    if (!certificate.getPublicKey().equals(keyPair.getPublic())) {
      throw new IllegalStateException("the authority certificate does not match the authority key");
    }
  }

  /** A new self-signed authority for a trust domain, valid for ten years from {@code now}. */
  public static CertificateAuthority create(String trustDomain, Instant now, SecureRandom random) {
    return createNamed(trustDomain + " issuer authority", now, random);
  }

  /** A new self-signed authority with this common name, valid for ten years from {@code now}. */
  public static CertificateAuthority createNamed(
      String commonName, Instant now, SecureRandom random) {
    KeyPair kp = newP256(random);
    X500Name name = cn(commonName);
    Instant from = now.truncatedTo(ChronoUnit.SECONDS).minus(BACKDATE);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          name,
          serial(random),
          Date.from(from),
          Date.from(from.plus(CA_VALIDITY)),
          name,
          kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      b.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
      return new CertificateAuthority(kp, sign(b, kp.getPrivate()), random);
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot create the issuer authority certificate", e);
    }
  }

  public static KeyPair newP256(SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("EC P-256 key generation unavailable", e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public KeyPair keyPair() {
    return keyPair;
  }

  /** A TLS server certificate for the issuer: SANs from {@code hostNames}, EKU serverAuth. */
  public X509Certificate issueServer(
      PublicKey key, List<String> hostNames, Instant now, Duration validity) {
    Instant from = now.truncatedTo(ChronoUnit.SECONDS).minus(Duration.ofHours(1));
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = builder(cn(hostNames.get(0)), from, from.plus(validity), key);
      List<GeneralName> names = new ArrayList<>();
      for (String h : hostNames) {
        names.add(
            isIpAddress(h)
                ? new GeneralName(GeneralName.iPAddress, h)
                : new GeneralName(GeneralName.dNSName, h));
      }
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(names.toArray(GeneralName[]::new)));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      return sign(b, keyPair.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue the issuer's TLS certificate", e);
    }
  }

  /**
   * A bot identity: {@code CN=bot-<name>}, URI SAN {@code spiffe://<trust domain>/bot/<name>}, EKU
   * clientAuth only, keyUsage digitalSignature, the {@link IdentityExtension}, valid from one minute
   * before {@code now} to {@code now + ttl} (whole seconds).
   */
  public X509Certificate issueBot(
      String trustDomain,
      String bot,
      PublicKey key,
      IdentityExtension identity,
      Instant now,
      Duration ttl) {
    return Pem.certificate(
        issueBotCertificate(trustDomain, bot, key, identity, now, ttl).der());
  }

  /**
   * A bot identity certificate as issued: its DER encoding, serial and expiry, read from what was
   * just built rather than parsed back from the encoding.
   */
  public record BotCertificate(byte[] der, BigInteger serial, Instant notAfter) {
    /** The serial as the issuer writes it in locks and audit records: lower-case hex. */
    public String serialHex() {
      return CertificateAuthority.serialHex(serial);
    }
  }

  /** {@link #issueBot}, answered as the encoded certificate: what a join or renewal sends and stores. */
  public BotCertificate issueBotCertificate(
      String trustDomain,
      String bot,
      PublicKey key,
      IdentityExtension identity,
      Instant now,
      Duration ttl) {
    Instant at = now.truncatedTo(ChronoUnit.SECONDS);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = builder(
          cn("bot-" + bot), at.minus(BACKDATE), at.plusSeconds(Math.max(1, ttl.toSeconds())), key);
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(new GeneralName(
              GeneralName.uniformResourceIdentifier,
              SpiffeId.forBot(trustDomain, bot).toString())));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      b.addExtension(new ASN1ObjectIdentifier(IdentityExtension.OID), false, identity.toDer());
      X509CertificateHolder h = b.build(signer(SIGNATURE).build(keyPair.getPrivate()));
      return new BotCertificate(
          h.getEncoded(), h.getSerialNumber(), h.getNotAfter().toInstant());
    } catch (GeneralSecurityException | OperatorCreationException | java.io.IOException e) {
      throw new IllegalStateException("cannot issue a bot certificate", e);
    }
  }

  /**
   * A role-scoped identity credential: named like the bot identity ({@code CN=bot-<name>}, its
   * SPIFFE ID, EKU clientAuth only) so that relying parties that trust the {@code issuer} authority
   * see the bot, but without the bot identity extension and with the {@link CredentialMarks#SCOPED_IDENTITY}
   * mark instead, so that the issuer never takes it for the bot.
   */
  public X509Certificate issueScopedIdentity(
      String trustDomain,
      String bot,
      PublicKey key,
      String instanceId,
      List<String> roles,
      Instant now,
      Duration ttl) {
    Instant at = now.truncatedTo(ChronoUnit.SECONDS);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b = builder(
          cn("bot-" + bot), at.minus(BACKDATE), at.plusSeconds(Math.max(1, ttl.toSeconds())), key);
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(new GeneralName(
              GeneralName.uniformResourceIdentifier,
              SpiffeId.forBot(trustDomain, bot).toString())));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      b.addExtension(CredentialMarks.scopedIdentity(instanceId, roles));
      return sign(b, keyPair.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue a role-scoped identity credential", e);
    }
  }

  /**
   * A leaf for one purpose: the given subject, SANs and extended key usages, keyUsage
   * digitalSignature, valid from one minute before {@code now} to {@code now + ttl} (whole seconds).
   */
  public X509Certificate issueLeaf(
      X500Name subject,
      List<GeneralName> sans,
      List<KeyPurposeId> usages,
      PublicKey key,
      Instant now,
      Duration ttl) {
    Instant at = now.truncatedTo(ChronoUnit.SECONDS);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          builder(subject, at.minus(BACKDATE), at.plusSeconds(Math.max(1, ttl.toSeconds())), key);
      if (!sans.isEmpty()) {
        // RFC 5280: with an empty subject (an X509-SVID) the SAN carries the identity and is
        // critical
        b.addExtension(
            Extension.subjectAlternativeName,
            subject.getRDNs().length == 0,
            new GeneralNames(sans.toArray(GeneralName[]::new)));
      }
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(usages.toArray(KeyPurposeId[]::new)));
      b.addExtension(
          Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(certificate));
      return sign(b, keyPair.getPrivate());
    } catch (GeneralSecurityException | CertIOException e) {
      throw new IllegalStateException("cannot issue a certificate for " + subject, e);
    }
  }

  /**
   * Checks a name a target certificate ({@code issuer sign}) is made for, as role-scoped host names
   * are: a DNS name of LDH labels (letters, digits, hyphens; 1 to 63 characters each, not starting
   * or ending with a hyphen; at most 253 in all; no wildcard) or an IPv4 or IPv6 address. Spaces,
   * commas, {@code *}, control and non-ASCII characters are refused.
   *
   * @return the name, lower-cased if a DNS name
   * @throws ProblemException {@code malformed_request} otherwise
   */
  public static String checkHostName(String host) {
    if (host == null || host.isEmpty()) {
      throw ProblemException.of(ErrorCode.MALFORMED_REQUEST, "a host name must not be empty");
    }
    if (host.matches("\\d{1,3}(\\.\\d{1,3}){3}")) {
      for (String octet : host.split("\\.")) {
        if (Integer.parseInt(octet) > 255 || (octet.length() > 1 && octet.startsWith("0"))) {
          throw ProblemException.of(
              ErrorCode.MALFORMED_REQUEST, "'" + host + "' is not an IPv4 address");
        }
      }
      return host;
    }
    if (isIpAddress(host)) {
      try {
        // only hex digits, colons and dots: parsed as an IPv6 literal, never looked up
        return java.net.InetAddress.getByName(host).getHostAddress().equals(host)
            ? host
            : java.net.InetAddress.getByName(host).getHostAddress();
      } catch (java.net.UnknownHostException e) {
        throw ProblemException.of(
            ErrorCode.MALFORMED_REQUEST, "'" + Text.inert(host) + "' is not an IPv6 address");
      }
    }
    String h = host.toLowerCase(Locale.ROOT);
    if (h.length() > 253
        || !h.matches(
            "(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST,
          "host name '" + Text.inert(host)
              + "' is not a DNS name (letters, digits and hyphens in dot-separated labels, no wildcard) or an IP address");
    }
    return h;
  }

  /** Subject and SAN for a host name or an IP address. */
  public static GeneralName hostName(String host) {
    return isIpAddress(host)
        ? new GeneralName(GeneralName.iPAddress, host)
        : new GeneralName(GeneralName.dNSName, host);
  }

  /** The serial as the issuer writes it in locks and audit records: lower-case hex. */
  public static String serialHex(X509Certificate certificate) {
    return serialHex(certificate.getSerialNumber());
  }

  private static String serialHex(BigInteger serial) {
    return serial.toString(16).toLowerCase(Locale.ROOT);
  }

  private X509v3CertificateBuilder builder(
      X500Name subject, Instant from, Instant to, PublicKey key) {
    return new JcaX509v3CertificateBuilder(
        X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
        serial(random),
        Date.from(from),
        Date.from(to),
        subject,
        key);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(signer(SIGNATURE).build(key)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("cannot create a " + SIGNATURE + " signer", e);
    }
  }

  /**
   * The provider that signs certificates, when {@code crypto_provider} names one (Bouncy Castle,
   * the Amazon Corretto Crypto Provider): used by instance for this signature only, never
   * registered JVM-wide. {@code null}: the JCA preference order (the JDK's providers).
   */
  private static volatile Provider signatureProvider;

  static void useSignatureProvider(Provider provider) {
    signatureProvider = provider;
  }

  public static JcaContentSignerBuilder signer(String algorithm) {
    JcaContentSignerBuilder b = new JcaContentSignerBuilder(algorithm);
    Provider p = signatureProvider;
    return p == null ? b : b.setProvider(p);
  }

  /** A random positive serial of 128 bits. */
  public static BigInteger serial(SecureRandom random) {
    BigInteger s;
    do {
      byte[] b = new byte[16];
      random.nextBytes(b);
      s = new BigInteger(1, b);
    } while (s.signum() == 0);
    return s;
  }

  private static X500Name cn(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  /** The CN of a certificate's subject, or {@code null}. */
  public static String commonName(X509Certificate certificate) {
    X500Name name = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
    var rdns = name.getRDNs(BCStyle.CN);
    if (rdns.length != 1 || rdns[0].isMultiValued()) {
      return null;
    }
    return rdns[0].getFirst().getValue().toString();
  }

  static boolean isIpAddress(String host) {
    return host.matches("\\d{1,3}(\\.\\d{1,3}){3}")
        || (host.contains(":") && host.matches("[0-9A-Fa-f:.]+"));
  }
}
