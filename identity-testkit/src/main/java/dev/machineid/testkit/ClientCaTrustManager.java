package dev.machineid.testkit;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Validates client chains against the CA certificates a supplier returns at the time of each
 * handshake. A PKIX trust manager is rebuilt only when the supplied list changes.
 */
final class ClientCaTrustManager extends X509ExtendedTrustManager {
  private final Supplier<List<X509Certificate>> source;
  private final AtomicReference<Cached> cache = new AtomicReference<>();

  private record Cached(List<X509Certificate> anchors, X509ExtendedTrustManager delegate) {}

  ClientCaTrustManager(Supplier<List<X509Certificate>> source) {
    this.source = Objects.requireNonNull(source, "source");
  }

  private X509ExtendedTrustManager current() throws CertificateException {
    List<X509Certificate> anchors;
    try {
      anchors = source.get();
    } catch (RuntimeException e) {
      throw new CertificateException("the trustedClientCAs supplier failed: " + e, e);
    }
    if (anchors == null || anchors.isEmpty()) {
      throw new CertificateException(
          "the trustedClientCAs supplier returned no CA certificate, so no client is trusted");
    }
    Cached cached = cache.get();
    if (cached != null && cached.anchors().equals(anchors)) {
      return cached.delegate();
    }
    List<X509Certificate> copy = List.copyOf(anchors);
    X509ExtendedTrustManager delegate = TestCertificateAuthority.trustManagerFor(copy);
    cache.set(new Cached(copy, delegate));
    return delegate;
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    current().checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    throw serverSideOnly();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    throw serverSideOnly();
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    throw serverSideOnly();
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    try {
      List<X509Certificate> anchors = source.get();
      return anchors == null ? new X509Certificate[0] : anchors.toArray(new X509Certificate[0]);
    } catch (RuntimeException e) {
      return new X509Certificate[0];
    }
  }

  private static CertificateException serverSideOnly() {
    return new CertificateException("this trust manager only validates client certificates");
  }
}
