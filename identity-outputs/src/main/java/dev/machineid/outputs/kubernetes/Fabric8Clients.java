package dev.machineid.outputs.kubernetes;

import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialKind;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.util.Objects;
import javax.net.ssl.KeyManager;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Fabric8 client configuration whose client certificate rotates with a {@code kubernetes}
 * {@link CredentialHandle}: the key manager is read per handshake, so new connections present the
 * newest certificate. The API server's CA is the cluster's own, given by the caller.
 *
 * <pre>{@code
 * KubernetesClient k8s = Fabric8Clients.builder(handle, "https://k8s.internal:6443", clusterCaTrust).build();
 * }</pre>
 *
 * One client keeps its connections open, and with them the certificate of its first handshake (the
 * API server checks certificates only at handshakes): long-running services should use
 * {@link #rotating}, which builds a client per certificate.
 */
public final class Fabric8Clients {
  private Fabric8Clients() {}

  /**
   * A holder that builds a new client with every new credential and closes the previous one after
   * {@code grace}: use it for long-running services, since one Fabric8 client keeps its connections
   * (and so its first certificate) open.
   */
  public static RotatingKubernetesClient rotating(
      CredentialHandle handle,
      String server,
      X509TrustManager clusterTrust,
      java.time.Duration grace) {
    Objects.requireNonNull(handle, "handle");
    return new RotatingKubernetesClient(handle, server, clusterTrust, grace);
  }

  @SuppressWarnings(
      "exports") // Fabric8's builder by design; Fabric8 is optional, its users have it
  public static KubernetesClientBuilder builder(
      CredentialHandle handle, String server, X509TrustManager clusterTrust) {
    Objects.requireNonNull(handle, "handle");
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(clusterTrust, "clusterTrust");
    if (handle.request().kind() != CredentialKind.KUBERNETES) {
      throw new IllegalArgumentException("a Fabric8 client needs a kubernetes credential, got "
          + handle.request().kind().wire());
    }
    Config config = Config.empty();
    config.setMasterUrl(server);
    return new KubernetesClientBuilder()
        .withConfig(config)
        .withHttpClientBuilderConsumer(b -> b.sslContext(
            new KeyManager[] {handle.keyManager()}, new TrustManager[] {clusterTrust}));
  }
}
