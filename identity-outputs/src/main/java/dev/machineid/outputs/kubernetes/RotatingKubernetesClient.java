package dev.machineid.outputs.kubernetes;

import dev.machineid.core.CredentialHandle;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Fabric8 client that follows certificate rotation. Fabric8's HTTP clients keep their connections
 * open (the JDK client offers no way to evict them), so one {@code KubernetesClient} would keep
 * presenting the certificate of its first handshake. This holder builds a new client with every new
 * credential and closes the previous one after a grace period, so requests in flight finish.
 * Call {@link #get()} per unit of work instead of keeping a client.
 */
// "exports": supplies Fabric8's KubernetesClient by design; Fabric8 is optional (requires static),
// so an
// application that uses this class has Fabric8 itself
@SuppressWarnings("exports")
public final class RotatingKubernetesClient implements Supplier<KubernetesClient>, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RotatingKubernetesClient.class);
  private final Supplier<KubernetesClient> factory;
  private final AtomicReference<KubernetesClient> current = new AtomicReference<>();
  private final ScheduledExecutorService closer;
  private final Duration grace;
  private volatile boolean closed;

  RotatingKubernetesClient(
      CredentialHandle handle, String server, X509TrustManager clusterTrust, Duration grace) {
    Objects.requireNonNull(grace, "grace");
    this.factory = () -> Fabric8Clients.builder(handle, server, clusterTrust).build();
    this.grace = grace;
    this.closer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "machineid-kubernetes-client-closer");
      t.setDaemon(true);
      return t;
    });
    current.set(factory.get());
    handle.addListener(credential -> rotate());
  }

  private void rotate() {
    if (closed) {
      return;
    }
    KubernetesClient old = current.getAndSet(factory.get());
    if (old != null) {
      closer.schedule(() -> closeQuietly(old), grace.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** The client for the newest certificate. */
  @Override
  public KubernetesClient get() {
    if (closed) {
      throw new IllegalStateException("RotatingKubernetesClient is closed");
    }
    return current.get();
  }

  private static void closeQuietly(KubernetesClient client) {
    try {
      client.close();
    } catch (RuntimeException e) {
      LOG.debug("closing a retired Kubernetes client failed: {}", e.toString());
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    closeQuietly(current.getAndSet(null));
    closer.shutdown();
  }
}
