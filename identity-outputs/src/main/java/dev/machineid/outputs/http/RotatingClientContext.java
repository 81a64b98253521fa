package dev.machineid.outputs.http;

import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import java.lang.ref.WeakReference;
import java.security.GeneralSecurityException;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A client {@link SSLContext} over an identity's key manager and a caller's server trust that starts
 * a new session cache whenever the identity changes, so no connection made after a rotation resumes
 * a session that carried the old certificate (the same approach as the identity's own context).
 * Engines and factories always come from the newest inner context.
 */
final class RotatingClientContext extends SSLContext {

  private RotatingClientContext(Spi spi) {
    super(spi, spi.current.get().getProvider(), "TLS");
  }

  static SSLContext create(MachineIdentity identity, X509TrustManager serverTrust) {
    Spi spi = new Spi(identity.keyManager(), serverTrust);
    identity.addListener(new Rotator(identity, spi));
    return new RotatingClientContext(spi);
  }

  /** Holds the context weakly, so a discarded client does not stay reachable from the identity. */
  private static final class Rotator implements IdentityListener {
    private final MachineIdentity identity;
    private final WeakReference<Spi> spi;

    Rotator(MachineIdentity identity, Spi spi) {
      this.identity = identity;
      this.spi = new WeakReference<>(spi);
    }

    private void rotate() {
      Spi s = spi.get();
      if (s == null) {
        identity.removeListener(this);
      } else {
        s.rotate();
      }
    }

    @Override
    public void onIssued(Identity identity) {
      rotate();
    }

    @Override
    public void onRenewed(Identity previous, Identity current) {
      rotate();
    }

    @Override
    public void onExpired(Identity expired) {
      rotate();
    }
  }

  private static final class Spi extends SSLContextSpi {
    private final KeyManager[] keyManagers;
    private final TrustManager[] trustManagers;
    final AtomicReference<SSLContext> current;

    Spi(KeyManager keyManager, TrustManager trustManager) {
      this.keyManagers = new KeyManager[] {keyManager};
      this.trustManagers = new TrustManager[] {trustManager};
      this.current = new AtomicReference<>(fresh());
    }

    private SSLContext fresh() {
      try {
        SSLContext c = SSLContext.getInstance("TLS");
        c.init(keyManagers, trustManagers, null);
        return c;
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("cannot create a TLS context: " + e.getMessage(), e);
      }
    }

    void rotate() {
      SSLSessionContext old = current.getAndSet(fresh()).getClientSessionContext();
      for (var ids = old.getIds(); ids.hasMoreElements(); ) {
        var session = old.getSession(ids.nextElement());
        if (session != null) {
          session.invalidate();
        }
      }
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
      throw new KeyManagementException("this context is initialised by JavaHttpClients and serves the current identity");
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      return current.get().getSocketFactory();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
      return current.get().getServerSocketFactory();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
      return current.get().createSSLEngine();
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
      return current.get().createSSLEngine(host, port);
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
      return current.get().getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
      return current.get().getClientSessionContext();
    }

    @Override
    protected SSLParameters engineGetDefaultSSLParameters() {
      return current.get().getDefaultSSLParameters();
    }

    @Override
    protected SSLParameters engineGetSupportedSSLParameters() {
      return current.get().getSupportedSSLParameters();
    }
  }
}
