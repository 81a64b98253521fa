package dev.machineid.core.internal.renewal;

import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.IssuerException;
import dev.machineid.core.internal.tls.BundleTrustManager;
import dev.machineid.core.internal.tls.KeySnapshot;
import dev.machineid.core.internal.tls.RotatingKeyManager;
import dev.machineid.core.internal.tls.RotatingSslContext;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputStatus;
import java.lang.ref.WeakReference;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each new bot identity out, in a fixed order: the key manager and every TLS context first
 * (new session caches), then rotation hooks (the SDK's own consumers, such as the OkHttp helper's
 * pool eviction), then outputs, and only then the application's listeners, so a listener that calls
 * out at once presents the new certificate and finds the new files written. It also tells listeners
 * of failures, locks and expiry, and keeps each output's last status.
 */
final class IdentityPublisher {
  private static final Logger LOG = LoggerFactory.getLogger("dev.machineid.core.MachineIdentity");
  private final Clock clock;
  private final AtomicReference<KeySnapshot> keys = new AtomicReference<>();
  private final RotatingKeyManager keyManager;
  private final BundleTrustManager trustManager;
  private final RotatingSslContext sslContext;
  /** Contexts made for other server trust; held weakly through the factory every client holds. */
  private final List<WeakReference<RotatingSslContext.RotatingSocketFactory>> derived =
      new CopyOnWriteArrayList<>();

  private final List<IdentityListener> listeners = new CopyOnWriteArrayList<>();
  /** The SDK's own consumers of a rotation (connection pools): told before outputs and listeners. */
  private final List<Consumer<Identity>> rotationHooks = new CopyOnWriteArrayList<>();

  private final List<Output> outputs;
  /** Stable, unique output names (taken once: a destination's toString may change as it is written). */
  private final List<String> outputNames;

  private final List<AtomicReference<OutputStatus>> outputStatus;

  IdentityPublisher(
      Supplier<Identity> current,
      Clock clock,
      List<IdentityListener> listeners,
      List<Output> outputs) {
    this.clock = clock;
    this.listeners.addAll(listeners);
    this.keyManager = new RotatingKeyManager(keys::get, clock);
    this.trustManager = new BundleTrustManager(() -> {
      Identity id = current.get();
      return id == null ? null : id.trustBundle();
    });
    this.sslContext = RotatingSslContext.create(keyManager, trustManager);
    this.outputs = List.copyOf(outputs);
    List<String> names = new ArrayList<>();
    List<AtomicReference<OutputStatus>> status = new ArrayList<>();
    for (Output o : outputs) {
      String base = o.name();
      String name = base;
      for (int n = 2; names.contains(name); n++) {
        name = base + "#" + n;
      }
      names.add(name);
      status.add(
          new AtomicReference<>(new OutputStatus(name, OutputStatus.State.PENDING, null, null)));
    }
    this.outputNames = List.copyOf(names);
    this.outputStatus = List.copyOf(status);
  }

  RotatingKeyManager keyManager() {
    return keyManager;
  }

  BundleTrustManager trustManager() {
    return trustManager;
  }

  RotatingSslContext sslContext() {
    return sslContext;
  }

  /** A context with the identity's key manager and other server trust, rotated with {@link #sslContext()}. */
  RotatingSslContext sslContext(X509TrustManager serverTrust) {
    RotatingSslContext c = RotatingSslContext.create(keyManager, serverTrust);
    derived.add(
        new WeakReference<>((RotatingSslContext.RotatingSocketFactory) c.getSocketFactory()));
    return c;
  }

  void addListener(IdentityListener l) {
    listeners.add(Objects.requireNonNull(l, "listener"));
  }

  void removeListener(IdentityListener l) {
    listeners.remove(l);
  }

  void addRotationHook(Consumer<Identity> hook) {
    rotationHooks.add(Objects.requireNonNull(hook, "hook"));
  }

  void removeRotationHook(Consumer<Identity> hook) {
    rotationHooks.remove(hook);
  }

  /** Each output's last write, in configuration order. */
  List<OutputStatus> outputStatus() {
    List<OutputStatus> l = new ArrayList<>(outputStatus.size());
    for (AtomicReference<OutputStatus> r : outputStatus) {
      l.add(r.get());
    }
    return List.copyOf(l);
  }

  /** The outputs' health as the heartbeat reports it, by name. */
  Map<String, String> outputsHealth() {
    Map<String, String> m = new TreeMap<>();
    for (OutputStatus st : outputStatus()) {
      m.put(
          st.name(),
          switch (st.state()) {
            case OK -> "ok";
            case PENDING -> "pending";
            case ERROR -> "error: " + st.error();
          });
    }
    return m;
  }

  /**
   * Hands out {@code next}, which replaced {@code before} ({@code null} at first): TLS, rotation
   * hooks, outputs, listeners, in that order.
   *
   * @param restored {@code next} was read back from storage, not issued
   * @param storage where it was stored, for the log
   */
  void publish(Identity before, Identity next, boolean restored, Object storage) {
    keyManager.retire(keys.getAndSet(KeySnapshot.of(next.certificateChain(), next.privateKey())));
    sslContext.rotate();
    rotateDerived();
    // the SDK's own consumers act before the application hears of the rotation: a listener that
    // calls out at once presents the new certificate, and finds the new files written
    for (Consumer<Identity> hook : rotationHooks) {
      try {
        hook.accept(next);
      } catch (RuntimeException e) {
        LOG.warn("a rotation hook threw: {}", e.toString());
      }
    }
    boolean issued = before == null
        || before.isExpiredAt(clock.instant())
        || !before.instanceId().equals(next.instanceId());
    if (issued) {
      if (restored) {
        // started from stored identity: nothing was issued, so the log must not say so
        LOG.info(
            "identity restored from {}: bot '{}', {}, instance {}, generation {}, serial {}, valid until {}",
            storage,
            next.botName(),
            next.spiffeId(),
            next.instanceId(),
            next.generation(),
            next.serialHex(),
            next.notAfter());
      } else {
        LOG.info(
            "identity issued: bot '{}', {}, instance {}, serial {}, valid until {}",
            next.botName(),
            next.spiffeId(),
            next.instanceId(),
            next.serialHex(),
            next.notAfter());
      }
    } else if (before != next) {
      LOG.info(
          "identity renewed: bot '{}', generation {}, serial {}, valid until {}",
          next.botName(),
          next.generation(),
          next.serialHex(),
          next.notAfter());
    }
    writeOutputs(next);
    if (issued) {
      for (IdentityListener l : listeners) {
        safely(() -> l.onIssued(next));
      }
    } else if (before != next) {
      for (IdentityListener l : listeners) {
        safely(() -> l.onRenewed(before, next));
      }
    }
  }

  private void rotateDerived() {
    for (var ref : derived) {
      RotatingSslContext.RotatingSocketFactory f = ref.get();
      if (f == null) {
        derived.remove(ref);
      } else {
        f.rotate();
      }
    }
  }

  private void writeOutputs(Identity next) {
    for (int i = 0; i < outputs.size(); i++) {
      Output o = outputs.get(i);
      String name = outputNames.get(i);
      AtomicReference<OutputStatus> status = outputStatus.get(i);
      try {
        o.write(next);
        status.set(new OutputStatus(name, OutputStatus.State.OK, null, clock.instant()));
        // each output logs what it wrote, with the serial of the credential it wrote (a role-scoped
        // output writes its own credential on its own schedule, not the bot's)
        LOG.debug("output {} given identity serial {}", name, next.serialHex());
      } catch (RuntimeException e) {
        OutputStatus was = status.get();
        status.set(new OutputStatus(
            name, OutputStatus.State.ERROR, String.valueOf(e.getMessage()), was.writtenAt()));
        LOG.warn("output {} failed to write: {}", name, e.getMessage());
      }
    }
  }

  /** Attempt {@code n} in a row failed. */
  void failed(Throwable error, int n) {
    for (IdentityListener l : listeners) {
      safely(() -> l.onRenewalFailed(error, n));
    }
  }

  /** The issuer locked the bot or instance. */
  void locked(IssuerException error) {
    for (IdentityListener l : listeners) {
      safely(() -> l.onLocked(error));
    }
  }

  /** {@code id} expired and no renewal replaced it. */
  void expired(Identity id) {
    LOG.error(
        "identity of bot '{}' expired at {}; TLS serves no certificate until a renewal succeeds",
        id.botName(),
        id.notAfter());
    for (IdentityListener l : listeners) {
      safely(() -> l.onExpired(id));
    }
  }

  private static void safely(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      LOG.warn("an identity listener threw: {}", e.toString());
    }
  }
}
