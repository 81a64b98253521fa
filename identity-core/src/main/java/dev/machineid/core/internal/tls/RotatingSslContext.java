package dev.machineid.core.internal.tls;

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

/**
 * One {@link SSLContext} for the life of an identity that keeps a separate session cache per
 * rotation. Invalidating a shared cache on rotation is not enough: a handshake that completes just
 * after the invalidation caches a session made with the old certificate, and later connections
 * would resume it. Here every rotation starts a new inner context, so a session made before it can
 * never be resumed after it. Socket factories and engines always come from the newest inner context.
 */
public final class RotatingSslContext extends SSLContext {
  private final Spi spi;

  private RotatingSslContext(Spi spi) {
    super(spi, fresh(spi.keyManagers, spi.trustManagers).getProvider(), "TLS");
    this.spi = spi;
  }

  /** A context over these key and trust managers, which are read per handshake. */
  public static RotatingSslContext create(KeyManager keyManager, TrustManager trustManager) {
    return new RotatingSslContext(
        new Spi(new KeyManager[] {keyManager}, new TrustManager[] {trustManager}));
  }

  /** Starts a new session cache: nothing cached before this call is resumed after it. */
  public void rotate() {
    spi.rotate();
  }

  public static SSLContext fresh(KeyManager[] km, TrustManager[] tm) {
    try {
      SSLContext c = SSLContext.getInstance("TLS");
      c.init(km, tm, null);
      return c;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot create a TLS context: " + e.getMessage(), e);
    }
  }

  private static final class Spi extends SSLContextSpi {
    final KeyManager[] keyManagers;
    final TrustManager[] trustManagers;
    final AtomicReference<SSLContext> current;
    final RotatingSocketFactory socketFactory = new RotatingSocketFactory(this);

    Spi(KeyManager[] km, TrustManager[] tm) {
      this.keyManagers = km;
      this.trustManagers = tm;
      this.current = new AtomicReference<>(fresh(km, tm));
    }

    void rotate() {
      SSLContext old = current.getAndSet(fresh(keyManagers, trustManagers));
      Tls.invalidateSessions(old.getClientSessionContext());
      Tls.invalidateSessions(old.getServerSessionContext());
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr)
        throws KeyManagementException {
      throw new KeyManagementException(
          "this context is initialised by the SDK and serves the current identity");
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
      return socketFactory;
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

  /**
   * Creates every socket from the newest inner context. HTTP clients hold this factory, so
   * rotation can be driven through it without keeping the context object alive.
   */
  public static final class RotatingSocketFactory
      extends dev.machineid.core.tls.DelegatingSslSocketFactory {
    private final Spi spi;

    RotatingSocketFactory(Spi spi) {
      this.spi = spi;
    }

    /** Same as {@link RotatingSslContext#rotate()}. */
    public void rotate() {
      spi.rotate();
    }

    @Override
    protected SSLSocketFactory delegate() {
      return spi.current.get().getSocketFactory();
    }
  }
}
