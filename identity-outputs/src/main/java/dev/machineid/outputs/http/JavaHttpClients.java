package dev.machineid.outputs.http;

import dev.machineid.core.CredentialHandle;
import dev.machineid.core.MachineIdentity;
import java.net.http.HttpClient;
import java.util.Objects;
import javax.net.ssl.X509TrustManager;

/**
 * {@link java.net.http.HttpClient} builders that present the newest certificate on every new
 * connection.
 *
 * <p>The JDK client keeps idle connections for {@code jdk.httpclient.keepalive.timeout} seconds
 * (default 30 on JDK 17+ for HTTP/1.1, 1200 for HTTP/2) and offers no way to evict them, so a
 * connection opened before a rotation keeps the old certificate until it idles out. Keep that
 * timeout, and the lifetime of any long-lived HTTP/2 connection, below the certificate TTL, or build
 * a new client per rotation from an {@link dev.machineid.core.IdentityListener}.
 */
public final class JavaHttpClients {
  private JavaHttpClients() {}

  /** Client certificate and server trust from the bot identity. */
  public static HttpClient.Builder builder(MachineIdentity identity) {
    Objects.requireNonNull(identity, "identity");
    return HttpClient.newBuilder().sslContext(identity.sslContext());
  }

  /**
   * Client certificate from the bot identity, server trust from {@code serverTrust}: for servers
   * whose certificates another CA issued (the identity's own trust manager trusts only the issuer's
   * authorities). The returned builder's context starts a new TLS session cache on every rotation,
   * so a new connection never resumes a session made with an older certificate. Build one client
   * per identity and server trust and keep it: each call registers a listener on {@code identity}
   * (dropped once the client is garbage).
   */
  public static HttpClient.Builder builder(MachineIdentity identity, X509TrustManager serverTrust) {
    Objects.requireNonNull(identity, "identity");
    Objects.requireNonNull(serverTrust, "serverTrust");
    return HttpClient.newBuilder().sslContext(identity.sslContext(serverTrust));
  }

  /** Client certificate and server trust from a role-scoped credential (e.g. an X509-SVID). */
  public static HttpClient.Builder builder(CredentialHandle handle) {
    Objects.requireNonNull(handle, "handle");
    return HttpClient.newBuilder().sslContext(handle.sslContext());
  }
}
