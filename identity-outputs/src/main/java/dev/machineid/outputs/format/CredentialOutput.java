package dev.machineid.outputs.format;

import dev.machineid.core.Credential;
import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.TrustBundle;
import dev.machineid.core.output.Destination;
import dev.machineid.core.output.Output;
import dev.machineid.outputs.destination.DirectoryDestination;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One file output (tbot's output kinds): renders a role-scoped credential, or the bot identity,
 * into a {@link Destination} on every issuance and runs the {@code reload} hook afterwards.
 *
 * <p>Role-scoped outputs get their credential from the {@link MachineIdentity} handed to
 * {@link #attach}: the first write asks {@link MachineIdentity#credentials} (on the caller's thread);
 * the handle's own schedule then renews it once per period, and every new credential rewrites the
 * whole destination. A bot renewal asks again only if the handle's last refresh failed. Made from config by the providers
 * in {@link OutputKinds}.
 */
public final class CredentialOutput implements Output, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CredentialOutput.class);
  private static final AtomicInteger HANDLES = new AtomicInteger();

  /** How one kind renders its files. */
  interface Renderer {
    Map<String, byte[]> render(RenderContext context);
  }

  private final String type;
  private final Destination destination;
  private final CredentialRequest request;
  private final Renderer renderer;
  private final ReloadHook reload;
  private final boolean rendersSshCertificate;
  private volatile MachineIdentity machineIdentity;
  private CredentialHandle handle;
  private Credential written;
  private boolean closed;

  CredentialOutput(
      String type,
      Destination destination,
      Function<String, CredentialRequest> request,
      Renderer renderer,
      ReloadHook reload) {
    this(type, destination, request, renderer, reload, false);
  }

  CredentialOutput(
      String type,
      Destination destination,
      Function<String, CredentialRequest> request,
      Renderer renderer,
      ReloadHook reload,
      boolean rendersSshCertificate) {
    this.type = type;
    this.rendersSshCertificate = rendersSshCertificate;
    this.destination = Objects.requireNonNull(destination, "destination");
    this.request = request == null
        ? null
        : request.apply("output:" + type + ":" + destination + "#" + HANDLES.incrementAndGet());
    this.renderer = renderer;
    this.reload = reload;
  }

  @Override
  public String name() {
    return type + ":" + destination;
  }

  /** The config {@code type:} of this output. */
  public String type() {
    return type;
  }

  public Destination destination() {
    return destination;
  }

  /** The role-scoped credential this output asks for, if any. */
  public Optional<CredentialRequest> request() {
    return Optional.ofNullable(request);
  }

  public Optional<ReloadHook> reload() {
    return Optional.ofNullable(reload);
  }

  @Override
  public boolean rendersSshCertificate() {
    return rendersSshCertificate;
  }

  @Override
  public void attach(MachineIdentity identity) {
    this.machineIdentity = Objects.requireNonNull(identity, "identity");
  }

  @Override
  public void check() {
    destination.check();
  }

  @Override
  public void write(Identity identity) {
    Objects.requireNonNull(identity, "identity");
    if (request == null) {
      ReloadHook.Result r = emit(identity, null);
      failIfHookFailed(r);
      return;
    }
    CredentialHandle h;
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("output " + name() + " is closed");
      }
      if (handle == null) {
        MachineIdentity mi = machineIdentity;
        if (mi == null) {
          throw new IllegalStateException(
              "output " + name() + " needs a role-scoped credential but was never attached "
                  + "to a MachineIdentity; add it with MachineIdentity.builder().output(…)");
        }
        handle = mi.credentials(request);
        handle.addListener(this::onCredential);
        ReloadHook.Result r = emit(identity, handle.current());
        failIfHookFailed(r);
        return;
      }
      h = handle;
    }
    // a bot renewal: the handle's own schedule keeps the credential fresh (it never outlives the
    // bot
    // certificate it was issued under), so it is issued once per period; only a handle whose last
    // refresh failed (the bot identity had expired, say) is asked again now
    if (h.lastError().isEmpty() && h.current() != null) {
      return;
    }
    h.refreshNow().whenComplete((c, e) -> {
      if (e != null) {
        LOG.warn(
            "output {}: credential refresh failed, files keep the previous credential: {}",
            name(),
            e.toString());
      }
    });
  }

  private void onCredential(Credential c) {
    MachineIdentity mi = machineIdentity;
    try {
      emit(mi.current(), c);
    } catch (RuntimeException e) {
      LOG.warn("output {} failed to write: {}", name(), e.getMessage());
    }
  }

  private synchronized ReloadHook.Result emit(Identity identity, Credential credential) {
    if (credential != null && credential == written) {
      return null;
    }
    TrustBundle authority = null;
    MachineIdentity mi = machineIdentity;
    if (mi != null) {
      authority = mi.trustBundle().orElse(null);
    }
    Path dir = destination instanceof DirectoryDestination d ? d.path() : null;
    Map<String, byte[]> files =
        renderer.render(new RenderContext(identity, credential, authority, dir));
    destination.write(files);
    written = credential;
    LOG.info("output {} written: {}", name(), credential != null ? credential : identity);
    return reload == null ? null : reload.run(name());
  }

  private void failIfHookFailed(ReloadHook.Result r) {
    if (r != null && !r.ok()) {
      throw new IdentityException(
          "output " + name() + " written, but its reload hook `" + reload.command() + "` exited "
              + r.exitCode() + (r.output().isEmpty() ? "" : ": " + r.output()));
    }
  }

  /** Closes the credential handle. Idempotent. */
  @Override
  public synchronized void close() {
    closed = true;
    if (handle != null) {
      handle.close();
    }
  }

  @Override
  public String toString() {
    return name();
  }
}
