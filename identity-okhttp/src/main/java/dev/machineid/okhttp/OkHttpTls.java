package dev.machineid.okhttp;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.security.cert.Certificate;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
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
  public static OkHttpClient.Builder configure(
      OkHttpClient.Builder builder, MachineIdentity identity) {
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
    SSLContext context = serverTrust == identity.trustManager()
        ? identity.sslContext()
        : identity.sslContext(serverTrust);
    ConnectionPool pool = new ConnectionPool();
    identity.addRotationHook(new Rotation(identity, pool));
    return builder
        .sslSocketFactory(context.getSocketFactory(), serverTrust)
        .connectionPool(pool)
        .addNetworkInterceptor(new CloseStaleConnections(identity));
  }

  /**
   * On every new identity: forget idle connections made with the old one (the context itself starts
   * a new session cache at every rotation). A rotation hook, so it runs before any listener hears of
   * the new identity: a listener that calls out at once gets a new connection. Holds the pool weakly,
   * so a client that is dropped is not kept alive by the identity; the hook then removes itself at
   * the next rotation.
   */
  private static final class Rotation implements Consumer<Identity> {
    private final MachineIdentity identity;
    private final WeakReference<ConnectionPool> pool;

    Rotation(MachineIdentity identity, ConnectionPool pool) {
      this.identity = identity;
      this.pool = new WeakReference<>(pool);
    }

    @Override
    public void accept(Identity next) {
      ConnectionPool p = pool.get();
      if (p == null) {
        identity.removeRotationHook(this);
        return;
      }
      p.evictAll();
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
