package dev.machineid.outputs.vault;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.IdentityException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs in to Vault with the TLS certificate auth method ({@code POST /v1/auth/cert/login}) using a
 * machine identity's client certificate, and keeps the Vault token fresh by logging in again at
 * two thirds of its lease (and whenever {@link #loginNow()} is called, e.g. after a rotation).
 * Each login opens a new connection, so it always presents the newest certificate.
 *
 * <pre>{@code
 * try (VaultCertLogin vault = VaultCertLogin.builder(URI.create("https://vault.internal:8200"))
 *     .keyManager(identity.keyManager()).vaultTrust(vaultCa).role("orders").build()) {
 *   String token = vault.token();   // send as X-Vault-Token
 * }
 * }</pre>
 */
public final class VaultCertLogin implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(VaultCertLogin.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A Vault token and when it stops being valid. The token is a secret: never log it. */
  public record Lease(String token, Instant expiresAt, boolean renewable) {
    @Override
    public String toString() {
      return "Lease{token=" + (token.length() > 6 ? token.substring(0, 6) + "…" : "…")
          + ", expiresAt=" + expiresAt + "}";
    }
  }

  private final URI vault;
  private final String mount;
  private final String role;
  private final X509ExtendedKeyManager keyManager;
  private final X509TrustManager trust;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;
  /** Whether {@link #scheduler} is this object's own (and so shut down by {@link #close()}). */
  private final boolean ownScheduler;

  private final AtomicReference<Lease> lease = new AtomicReference<>();
  private volatile ScheduledFuture<?> next;
  private volatile boolean closed;

  private VaultCertLogin(Builder b) {
    this.vault = b.vault;
    this.mount = b.mount;
    this.role = b.role;
    this.keyManager = b.keyManager;
    this.trust = b.trust;
    this.clock = b.clock;
    this.ownScheduler = b.scheduler == null;
    this.scheduler = ownScheduler
        ? Executors.newSingleThreadScheduledExecutor(r -> {
          Thread t = new Thread(r, "machineid-vault-login");
          t.setDaemon(true);
          return t;
        })
        : b.scheduler;
  }

  public static Builder builder(URI vault) {
    return new Builder(vault);
  }

  /** The current token, logging in first if there is none or it expired. */
  public String token() {
    Lease l = lease.get();
    if (l == null || !clock.instant().isBefore(l.expiresAt())) {
      l = loginNow();
    }
    return l.token();
  }

  public Lease lease() {
    Lease l = lease.get();
    return l != null ? l : loginNow();
  }

  /** Logs in now with the newest certificate and replaces the token. */
  public synchronized Lease loginNow() {
    if (closed) {
      throw new IllegalStateException("VaultCertLogin is closed");
    }
    Lease l = login();
    lease.set(l);
    Duration lifetime = Duration.between(clock.instant(), l.expiresAt());
    long delay = Math.max(1_000, lifetime.toMillis() * 2 / 3);
    if (next != null) {
      next.cancel(false);
    }
    next = scheduler.schedule(this::refresh, delay, TimeUnit.MILLISECONDS);
    LOG.info("logged in to Vault at {} ({}), token valid until {}", vault, mount, l.expiresAt());
    return l;
  }

  private void refresh() {
    try {
      loginNow();
    } catch (RuntimeException e) {
      LOG.warn("Vault login failed, retrying in 5 s: {}", e.getMessage());
      if (!closed) {
        next = scheduler.schedule(this::refresh, 5, TimeUnit.SECONDS);
      }
    }
  }

  private Lease login() {
    try {
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(new KeyManager[] {keyManager}, new TrustManager[] {trust}, null);
      HttpClient http = HttpClient.newBuilder()
          .sslContext(ctx)
          .version(HttpClient.Version.HTTP_1_1)
          .followRedirects(HttpClient.Redirect.NEVER)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
      String body = role == null ? "{}" : JSON.writeValueAsString(java.util.Map.of("name", role));
      HttpResponse<String> r = http.send(
          HttpRequest.newBuilder(vault.resolve("/v1/auth/" + mount + "/login"))
              .timeout(Duration.ofSeconds(10))
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IdentityException(
            "Vault refused the certificate login at " + vault + " (mount '" + mount + "', "
                + (role == null ? "any role" : "role '" + role + "'") + "): HTTP " + r.statusCode()
                + " " + errors(r.body())
                + "; check that the role's certificate and allowed names or URI SANs match this identity");
      }
      JsonNode auth = JSON.readTree(r.body()).path("auth");
      String token = auth.path("client_token").asText(null);
      if (token == null || token.isEmpty()) {
        throw new IdentityException("Vault's login answer has no auth.client_token");
      }
      long seconds = auth.path("lease_duration").asLong(0);
      // a lease of 0 is a token without expiry; log in again daily so certificate changes still
      // apply
      Instant expires =
          clock.instant().plusSeconds(seconds > 0 ? seconds : Duration.ofDays(1).toSeconds());
      return new Lease(token, expires, auth.path("renewable").asBoolean(false));
    } catch (IOException | GeneralSecurityException e) {
      throw new IdentityException("cannot log in to Vault at " + vault + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IdentityException("interrupted while logging in to Vault", e);
    }
  }

  private static String errors(String body) {
    try {
      JsonNode n = JSON.readTree(body).path("errors");
      return n.isArray() ? n.toString() : "";
    } catch (IOException e) {
      return "";
    }
  }

  @Override
  public void close() {
    closed = true;
    if (next != null) {
      next.cancel(false);
    }
    if (ownScheduler) {
      scheduler.shutdownNow();
    }
  }

  public static final class Builder {
    private final URI vault;
    private String mount = "cert";
    private String role;
    private X509ExtendedKeyManager keyManager;
    private X509TrustManager trust;
    private Clock clock = Clock.systemUTC();
    private ScheduledExecutorService scheduler;

    private Builder(URI vault) {
      this.vault = Objects.requireNonNull(vault, "vault");
      if (!"https".equals(vault.getScheme())) {
        throw new IllegalArgumentException("Vault address must be https, got " + vault);
      }
    }

    /** The auth mount path; default {@code cert}. */
    public Builder mount(String mount) {
      this.mount = Objects.requireNonNull(mount, "mount");
      return this;
    }

    /** The cert role to log in as ({@code name}); default: Vault picks a matching one. */
    public Builder role(String role) {
      this.role = Objects.requireNonNull(role, "role");
      return this;
    }

    /** The client certificate source: {@code identity.keyManager()} or a handle's. */
    public Builder keyManager(X509ExtendedKeyManager keyManager) {
      this.keyManager = Objects.requireNonNull(keyManager, "keyManager");
      return this;
    }

    /** Trust for Vault's own server certificate. */
    public Builder vaultTrust(X509TrustManager trust) {
      this.trust = Objects.requireNonNull(trust, "vaultTrust");
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /**
     * Where the token refreshes run; default: a daemon thread of this login's own, stopped by
     * {@link VaultCertLogin#close()}. A scheduler passed here stays the caller's: {@code close()}
     * cancels this login's pending refresh on it and does not shut it down.
     */
    public Builder scheduler(ScheduledExecutorService scheduler) {
      this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
      return this;
    }

    public VaultCertLogin build() {
      if (keyManager == null || trust == null) {
        throw new IllegalStateException("keyManager(…) and vaultTrust(…) are required");
      }
      return new VaultCertLogin(this);
    }
  }
}
