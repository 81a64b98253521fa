package dev.machineid.core.internal.tls;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/** TLS helpers shared by the issuer client and the hot-rotating contexts. */
public final class Tls {
  private Tls() {}

  /** Invalidates every cached session, so no later handshake resumes one made with an old certificate. */
  public static void invalidateSessions(SSLSessionContext context) {
    if (context == null) {
      return;
    }
    for (byte[] id : Collections.list(context.getIds())) {
      SSLSession s = context.getSession(id);
      if (s != null) {
        s.invalidate();
      }
    }
  }

  /**
   * Validates {@code chain} (leaf first) against {@code anchors} at {@code time} with PKIX, without
   * revocation checks (our certificates are short-lived).
   */
  public static void validate(
      List<X509Certificate> chain, Collection<X509Certificate> anchors, Instant time)
      throws CertificateException {
    if (anchors.isEmpty()) {
      throw new CertificateException("no trust anchors");
    }
    // a chain whose leaf is itself an anchor is trusted directly (a pinned self-signed server)
    X509Certificate leaf = chain.get(0);
    for (X509Certificate a : anchors) {
      if (a.equals(leaf)) {
        leaf.checkValidity(Date.from(time));
        return;
      }
    }
    try {
      Set<TrustAnchor> ta = new HashSet<>();
      for (X509Certificate a : anchors) {
        ta.add(new TrustAnchor(a, null));
      }
      // drop the anchors themselves from the path: PKIX wants the path up to, not including, the
      // anchor
      List<X509Certificate> path = new ArrayList<>();
      for (X509Certificate c : chain) {
        if (!anchors.contains(c)) {
          path.add(c);
        }
      }
      PKIXParameters params = new PKIXParameters(ta);
      params.setRevocationEnabled(false);
      params.setDate(Date.from(time));
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      CertPathValidator.getInstance("PKIX").validate(cf.generateCertPath(path), params);
    } catch (GeneralSecurityException e) {
      throw new CertificateException(e.getMessage(), e);
    }
  }

  /** A PKIX trust manager over exactly these certificates. */
  public static X509TrustManager trustManagerFor(Collection<X509Certificate> certificates) {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      int i = 0;
      for (X509Certificate c : certificates) {
        ks.setCertificateEntry("ca-" + i++, c);
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(ks);
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509TrustManager x) {
          return x;
        }
      }
      throw new IllegalStateException(
          "no X509TrustManager from " + Arrays.toString(tmf.getTrustManagers()));
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("cannot build a trust manager: " + e.getMessage(), e);
    }
  }
}
