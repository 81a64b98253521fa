package dev.machineid.issuer.internal.http;

import java.security.cert.X509Certificate;
import java.util.List;

/**
 * What the issuer requires of a client certificate on an authenticated call (bot and admin): an
 * end-entity certificate (no CA basic constraint) whose key usage allows {@code digitalSignature}
 * (what a TLS client's key does) and no certificate or CRL signing, and whose extended key usage is
 * clientAuth and nothing else — the shape of every bot and admin identity the issuer makes, so a
 * certificate of the authority made for another use (the issuer's TLS server certificate, a
 * dual-use leaf) is never taken for a client.
 */
public final class ClientCertificates {
  static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final int DIGITAL_SIGNATURE = 0;
  private static final int KEY_CERT_SIGN = 5;
  private static final int CRL_SIGN = 6;

  private ClientCertificates() {}

  /** @param eku the certificate's extended key usage, {@code null} when absent or unreadable */
  public static boolean forClientAuth(X509Certificate leaf, List<String> eku) {
    boolean[] ku = leaf.getKeyUsage();
    return leaf.getBasicConstraints() < 0
        && ku != null
        && ku.length > DIGITAL_SIGNATURE
        && ku[DIGITAL_SIGNATURE]
        && !(ku.length > KEY_CERT_SIGN && ku[KEY_CERT_SIGN])
        && !(ku.length > CRL_SIGN && ku[CRL_SIGN])
        && eku != null
        && eku.equals(List.of(CLIENT_AUTH));
  }

  /** Why {@link #forClientAuth} refused, for the audit log. */
  public static String describeUsage(X509Certificate leaf, List<String> eku) {
    boolean[] ku = leaf.getKeyUsage();
    if (leaf.getBasicConstraints() >= 0) {
      return "is a CA certificate";
    }
    if (ku == null || ku.length <= DIGITAL_SIGNATURE || !ku[DIGITAL_SIGNATURE]) {
      return "lacks key usage digitalSignature";
    }
    if ((ku.length > KEY_CERT_SIGN && ku[KEY_CERT_SIGN])
        || (ku.length > CRL_SIGN && ku[CRL_SIGN])) {
      return "has key usage for signing certificates or CRLs";
    }
    return "has extended key usage " + eku + "; only clientAuth (" + CLIENT_AUTH + ") is accepted";
  }
}
