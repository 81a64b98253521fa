package dev.machineid.core.tls;

import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.internal.RotatingSslContext;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.X509TrustManager;
import okhttp3.Connection;
import okhttp3.ConnectionPool;
import okhttp3.Handshake;
import okhttp3.Interceptor;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Wires an {@link OkHttpClient.Builder} to a {@link MachineIdentity} so that every new connection
 * presents the newest certificate, and no connection made with an old one is reused after a
 * rotation: idle pooled connections are evicted, cached TLS sessions are invalidated, and a busy
 * connection still carrying an old certificate gets {@code Connection: close} on its next exchange.
 *
 * <p>This sets the builder's {@code sslSocketFactory} and {@code connectionPool}; do not replace
 * them afterwards.
 */
public final class OkHttpTls {
  private OkHttpTls() {}

  /** Client certificate from the identity; servers trusted through the issuer's trust bundle. */
  public static OkHttpClient.Builder configure(OkHttpClient.Builder builder, MachineIdentity identity) {
    return configure(builder, identity, identity.trustManager());
  }

  /**
   * Client certificate from the identity; servers trusted through {@code serverTrust} (for servers
   * whose certificates come from another CA, such as a public one).
   */
  public static OkHttpClient.Builder configure(
      OkHttpClient.Builder builder, MachineIdentity identity, X509TrustManager serverTrust) {
    Objects.requireNonNull(builder, "builder");
    Objects.requireNonNull(identity, "identity");
    Objects.requireNonNull(serverTrust, "serverTrust");
    RotatingSslContext context = RotatingSslContext.create(identity.keyManager(), serverTrust);
    ConnectionPool pool = new ConnectionPool();
    // the client holds the factory strongly; the listener holds it weakly
    var factory = (RotatingSslContext.RotatingSocketFactory) context.getSocketFactory();
    identity.addListener(new Rotation(identity, factory, pool));
    return builder
        .sslSocketFactory(factory, serverTrust)
        .connectionPool(pool)
        .addNetworkInterceptor(new CloseStaleConnections(identity));
  }

  /**
   * On every new identity: forget sessions and idle connections made with the old one. Holds the
   * context and pool weakly, so a client that is dropped is not kept alive by the identity; the
   * listener then removes itself at the next rotation.
   */
  private static final class Rotation implements IdentityListener {
    private final MachineIdentity identity;
    private final WeakReference<RotatingSslContext.RotatingSocketFactory> context;
    private final WeakReference<ConnectionPool> pool;

    Rotation(MachineIdentity identity, RotatingSslContext.RotatingSocketFactory context, ConnectionPool pool) {
      this.identity = identity;
      this.context = new WeakReference<>(context);
      this.pool = new WeakReference<>(pool);
    }

    private void rotate() {
      RotatingSslContext.RotatingSocketFactory c = context.get();
      ConnectionPool p = pool.get();
      if (c == null && p == null) {
        identity.removeListener(this);
        return;
      }
      if (c != null) {
        c.rotate();
      }
      if (p != null) {
        p.evictAll();
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
  }

  /**
   * Marks {@code Connection: close} on an exchange over a connection whose client certificate is no
   * longer the current one, so OkHttp retires it after this exchange instead of pooling it.
   */
  static final class CloseStaleConnections implements Interceptor {
    private final MachineIdentity identity;

    CloseStaleConnections(MachineIdentity identity) {
      this.identity = identity;
    }

    @Override
    public Response intercept(Chain chain) throws IOException {
      Request request = chain.request();
      Connection connection = chain.connection();
      Handshake handshake = connection == null ? null : connection.handshake();
      if (handshake != null && isStale(handshake.localCertificates())) {
        request = request.newBuilder().header("Connection", "close").build();
      }
      return chain.proceed(request);
    }

    private boolean isStale(List<Certificate> local) {
      if (local.isEmpty()) {
        return false;
      }
      Identity current;
      try {
        current = identity.current();
      } catch (IllegalStateException e) {
        return false;
      }
      return !local.get(0).equals(current.certificate());
    }
  }
}
