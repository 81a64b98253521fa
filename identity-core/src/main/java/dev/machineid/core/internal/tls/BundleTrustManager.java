package dev.machineid.core.internal.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts the current trust bundle, read per handshake; during an authority rotation the bundle holds
 * the old and the new authority, so both are trusted.
 */
public final class BundleTrustManager extends X509ExtendedTrustManager {
  private final Supplier<List<X509Certificate>> bundle;

  private record Cached(List<X509Certificate> bundle, X509ExtendedTrustManager trustManager) {}

  /** The bundle and the trust manager built from it, swapped together. */
  private volatile Cached cached;

  public BundleTrustManager(Supplier<List<X509Certificate>> bundle) {
    this.bundle = bundle;
  }

  private X509ExtendedTrustManager delegate() throws CertificateException {
    List<X509Certificate> b = bundle.get();
    if (b == null || b.isEmpty()) {
      throw new CertificateException("no trust bundle yet: the identity has not been issued");
    }
    Cached c = cached;
    if (c == null || c.bundle() != b) {
      c = new Cached(b, (X509ExtendedTrustManager) Tls.trustManagerFor(b));
      cached = c;
    }
    return c.trustManager();
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    delegate().checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    delegate().checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    delegate().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    delegate().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    delegate().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    List<X509Certificate> b = bundle.get();
    return b == null ? new X509Certificate[0] : b.toArray(new X509Certificate[0]);
  }
}
