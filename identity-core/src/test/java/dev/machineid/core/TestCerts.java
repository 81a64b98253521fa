package dev.machineid.core;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Certificates for core's unit tests. */
public final class TestCerts {
  private TestCerts() {}

  public static X509Certificate ca(KeyPair kp, String cn) {
    return sign(kp, cn, kp, cn, null, Instant.now().plusSeconds(3600), true, null);
  }

  public static X509Certificate leaf(
      KeyPair caKp, String caCn, KeyPair kp, String cn, String spiffe, Instant notAfter) {
    return sign(caKp, caCn, kp, cn, spiffe, notAfter, false, null);
  }

  /** A bot leaf that carries the issuer's identity extension. */
  public static X509Certificate leaf(
      KeyPair caKp,
      String caCn,
      KeyPair kp,
      String cn,
      String spiffe,
      Instant notAfter,
      String instanceId,
      long generation) {
    return sign(
        caKp,
        caCn,
        kp,
        cn,
        spiffe,
        notAfter,
        false,
        new dev.machineid.core.protocol.IdentityExtension(instanceId, generation, "token"));
  }

  private static X509Certificate sign(
      KeyPair signer,
      String issuerCn,
      KeyPair subject,
      String cn,
      String uri,
      Instant notAfter,
      boolean ca,
      dev.machineid.core.protocol.IdentityExtension identity) {
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          new X500Name("CN=" + issuerCn),
          new BigInteger(64, new java.security.SecureRandom()).add(BigInteger.ONE),
          Date.from(Instant.now().minusSeconds(60)),
          Date.from(notAfter),
          new X500Name("CN=" + cn),
          subject.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (uri != null) {
        b.addExtension(
            Extension.subjectAlternativeName,
            false,
            new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
      }
      if (identity != null) {
        b.addExtension(
            new org.bouncycastle.asn1.ASN1ObjectIdentifier(
                dev.machineid.core.protocol.IdentityExtension.OID),
            false,
            identity.toDer());
      }
      return new JcaX509CertificateConverter()
          .getCertificate(
              b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
