package dev.machineid.core;

import dev.machineid.core.internal.renewal.CredentialEngine;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A role-scoped credential kept fresh with the bot identity, with its own hot-rotating TLS. Made by
 * {@link MachineIdentity#credentials(CredentialRequest)}; registered process-wide under its
 * {@link #name()} so that drivers configured by class name (pgjdbc's {@code sslfactory}) can find it.
 */
public final class CredentialHandle implements AutoCloseable {
  private static final ConcurrentMap<String, CredentialHandle> REGISTRY = new ConcurrentHashMap<>();
  private final CredentialEngine engine;

  CredentialHandle(CredentialEngine engine) {
    this.engine = engine;
  }

  static CredentialHandle register(CredentialEngine engine) {
    CredentialHandle h = new CredentialHandle(engine);
    CredentialHandle previous = REGISTRY.putIfAbsent(engine.request().name(), h);
    if (previous != null && !previous.engine.isClosed()) {
      throw new IllegalStateException("a credential handle named '"
          + engine.request().name() + "' is already open; give the request another name(…)");
    }
    REGISTRY.put(engine.request().name(), h);
    return h;
  }

  /** The open handle with this name, if any. */
  public static Optional<CredentialHandle> lookup(String name) {
    Objects.requireNonNull(name, "name");
    CredentialHandle h = REGISTRY.get(name);
    return h == null || h.engine.isClosed() ? Optional.empty() : Optional.of(h);
  }

  public String name() {
    return engine.request().name();
  }

  public CredentialRequest request() {
    return engine.request();
  }

  /** The newest credential. Never blocks. */
  public Credential current() {
    return engine.current();
  }

  /** One context for the life of the handle, serving the newest certificate per handshake. */
  public SSLContext sslContext() {
    return engine.sslContext();
  }

  public X509ExtendedKeyManager keyManager() {
    return engine.keyManager();
  }

  /**
   * Trusts the servers this kind of credential is meant for: database servers' authority for
   * {@code database}, the SPIFFE authority for {@code application}, the issuer authority otherwise.
   */
  public X509ExtendedTrustManager trustManager() {
    return engine.trustManager();
  }

  /** The last refresh failure, if the last attempt failed. */
  public Optional<Throwable> lastError() {
    return Optional.ofNullable(engine.lastError());
  }

  /** Called on the refresh thread with every new credential. */
  public void addListener(Consumer<Credential> listener) {
    engine.addListener(Objects.requireNonNull(listener, "listener"));
  }

  public CompletableFuture<Credential> refreshNow() {
    return engine.refreshNow();
  }

  /** Stops refreshing and removes the handle from the registry. Idempotent. */
  @Override
  public void close() {
    engine.close();
    REGISTRY.remove(name(), this);
  }

  @Override
  public String toString() {
    return "CredentialHandle{" + name() + ", " + current() + "}";
  }
}
