package dev.machineid.issuer.internal.http;

import dev.machineid.issuer.internal.authority.CertificateAuthority;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ProxyConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/**
 * The issuer's Jetty server: one TLS 1.2/1.3 connector that asks for (does not require) a client
 * certificate and trusts only the issuer authority.
 */
public final class HttpsServer {
  private static final Duration TLS_VALIDITY = Duration.ofDays(90);

  private final Server server;
  private final ServerConnector connector;

  private final RequestDeadlines deadlines;

  private HttpsServer(Server server, ServerConnector connector, RequestDeadlines deadlines) {
    this.server = server;
    this.connector = connector;
    this.deadlines = deadlines;
  }

  /** Binds and starts; the TLS certificate is issued now by the authority for {@code hostNames}. */
  public static HttpsServer start(
      String host,
      int port,
      List<String> hostNames,
      CertificateAuthority ca,
      java.time.Clock clock,
      SecureRandom random,
      ApiHandler handler)
      throws Exception {
    return start(
        host,
        port,
        hostNames,
        ca,
        clock,
        random,
        handler,
        Duration.ZERO,
        Duration.ofSeconds(30),
        null,
        null);
  }

  /**
   * As above, with the time {@link #stop()} waits for requests in flight ({@code grace}, zero:
   * close at once) and the idle timeout of connections, also applied to a blocked read or write of
   * a request, and, with {@code deadlines} (or {@code null}), the overall time limit of a request
   * (see {@link RequestDeadlines}), so a client that sends slowly is cut off. With
   * {@code trustedProxies} (or {@code null} for none), a connection from one of those balancers
   * must begin with a PROXY protocol header (v1 or v2) carrying the client's IP address, which is
   * then the address used for rate limiting, logs and audit; a connection from anywhere else is
   * plain TLS, and a PROXY header it sends fails its handshake ({@link ProxyGate}).
   */
  public static HttpsServer start(
      String host,
      int port,
      List<String> hostNames,
      CertificateAuthority ca,
      java.time.Clock clock,
      SecureRandom random,
      ApiHandler handler,
      Duration grace,
      Duration idleTimeout,
      RequestDeadlines deadlines,
      TrustedProxies trustedProxies)
      throws Exception {
    QueuedThreadPool pool = new QueuedThreadPool(64, 4);
    pool.setName("machineid-issuer-http");
    pool.setDaemon(true);
    Server server =
        new Server(pool, new ScheduledExecutorScheduler("machineid-issuer-scheduler", true), null);
    server.setStopTimeout(grace.toMillis());

    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    http.setIdleTimeout(idleTimeout.toMillis());
    http.setSecureScheme("https");
    // No SNI host check: clients reach the issuer by IP address too, which carries no SNI.
    http.addCustomizer(new SecureRequestCustomizer(false));

    SslContextFactory.Server tls = new SslContextFactory.Server();
    tls.setSslContext(sslContext(hostNames, ca, clock, random));
    tls.setIncludeProtocols("TLSv1.3", "TLSv1.2");
    tls.setWantClientAuth(true);
    tls.setNeedClientAuth(false);
    tls.setRenegotiationAllowed(false);

    SslConnectionFactory ssl = new SslConnectionFactory(tls, HttpVersion.HTTP_1_1.asString());
    ServerConnector connector = trustedProxies != null
        ? new ServerConnector(
            server,
            new ProxyGate(trustedProxies, ssl.getProtocol()),
            new ProxyConnectionFactory(ssl.getProtocol()),
            ssl,
            new HttpConnectionFactory(http))
        : new ServerConnector(server, ssl, new HttpConnectionFactory(http));
    connector.setHost(host);
    connector.setPort(port);
    connector.setIdleTimeout(idleTimeout.toMillis());
    connector.setReuseAddress(true);
    if (trustedProxies != null) {
      // Jetty treats the header as optional (a detector); the issuer requires it from a balancer
      // and checks the address it carries
      connector.addBean(new RequireProxyHeader(trustedProxies));
    }
    if (deadlines != null) {
      // connection factories add the connector's Connection.Listener beans to each new connection
      connector.addBean(deadlines);
      handler.withDeadlines(deadlines);
    }
    server.addConnector(connector);
    // With a grace period, stop() first refuses new requests and lets those in flight finish.
    server.setHandler(grace.isZero() ? handler : new GracefulHandler(handler));
    server.setErrorHandler(new ProblemErrorHandler());
    try {
      server.start();
    } catch (Exception e) {
      try {
        server.stop();
      } catch (Exception suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
    if (deadlines != null) {
      deadlines.start(connector.getScheduler());
    }
    return new HttpsServer(server, connector, deadlines);
  }

  public int port() {
    return connector.getLocalPort();
  }

  public void stop() throws Exception {
    if (deadlines != null) {
      deadlines.stop();
    }
    server.stop();
  }

  private static SSLContext sslContext(
      List<String> hostNames, CertificateAuthority ca, java.time.Clock clock, SecureRandom random)
      throws GeneralSecurityException {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(
        new javax.net.ssl.KeyManager[] {new RenewingServerKeyManager(hostNames, ca, clock, random)},
        new TrustManager[] {new AuthorityTrustManager(ca.certificate())},
        random);
    return ctx;
  }

  /**
   * The first connection factory when PROXY protocol is on: decides by the TCP peer, before a byte
   * is parsed, whether a connection may carry a PROXY header at all. A connection from a trusted
   * balancer goes to Jetty's PROXY protocol parser; any other connection goes straight to TLS, so a
   * PROXY header from a client that connects directly is not parsed (no address taken from it, no
   * name looked up) and fails the TLS handshake as garbage.
   */
  static final class ProxyGate implements org.eclipse.jetty.server.ConnectionFactory {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ProxyGate.class);
    private final TrustedProxies trusted;
    private final String tlsProtocol;

    ProxyGate(TrustedProxies trusted, String tlsProtocol) {
      this.trusted = trusted;
      this.tlsProtocol = tlsProtocol;
    }

    @Override
    public String getProtocol() {
      return "machineid-proxy-gate";
    }

    @Override
    public List<String> getProtocols() {
      return List.of(getProtocol());
    }

    @Override
    public org.eclipse.jetty.io.Connection newConnection(
        org.eclipse.jetty.server.Connector connector, org.eclipse.jetty.io.EndPoint endPoint) {
      boolean fromBalancer = trusted.contains(endPoint.getRemoteSocketAddress());
      LOG.debug(
          "connection from {}: {}",
          endPoint.getRemoteSocketAddress(),
          fromBalancer ? "a trusted balancer, PROXY header required" : "direct, plain TLS");
      org.eclipse.jetty.server.ConnectionFactory f = fromBalancer
          ? connector.getConnectionFactory(ProxyConnectionFactory.class)
          : connector.getConnectionFactory(tlsProtocol);
      return f.newConnection(connector, endPoint);
    }
  }

  /**
   * Closes a TLS connection from a trusted balancer that did not start with a PROXY protocol header
   * (every client behind the balancer would otherwise share the balancer's rate limit and be
   * recorded with its address), and one whose header carries a source that is not an IP address
   * (Jetty reads a v1 header's address as text). A direct connection (from anywhere else) carries
   * no header: {@link ProxyGate} does not let one be parsed.
   */
  static final class RequireProxyHeader implements org.eclipse.jetty.io.Connection.Listener {
    private static final org.slf4j.Logger LOG =
        org.slf4j.LoggerFactory.getLogger(RequireProxyHeader.class);
    private final TrustedProxies trusted;

    RequireProxyHeader(TrustedProxies trusted) {
      this.trusted = trusted;
    }

    @Override
    public void onOpened(org.eclipse.jetty.io.Connection connection) {
      if (!(connection instanceof org.eclipse.jetty.io.ssl.SslConnection)) {
        return;
      }
      org.eclipse.jetty.io.EndPoint ep = connection.getEndPoint();
      if (ep instanceof ProxyConnectionFactory.ProxyEndPoint proxied) {
        java.net.SocketAddress peer = proxied.unwrap().getRemoteSocketAddress();
        String refusal = !trusted.contains(peer)
            ? "a PROXY header from a peer that is not a trusted balancer"
            : invalidSource(proxied.getRemoteSocketAddress());
        if (refusal != null) {
          LOG.warn("closing a connection from {}: {}", peer, refusal);
          ep.close();
        }
      } else if (trusted.contains(ep.getRemoteSocketAddress())) {
        LOG.warn(
            "closing a connection from trusted balancer {} without a PROXY protocol header",
            ep.getRemoteSocketAddress());
        ep.close();
      }
    }

    /** Why the client address of a PROXY header is refused, or null if it is an IP address and port. */
    static String invalidSource(java.net.SocketAddress claimed) {
      if (!(claimed instanceof java.net.InetSocketAddress isa)
          || isa.isUnresolved()
          || isa.getAddress() == null) {
        return "a PROXY header whose source is not an IP address";
      }
      // v1 headers are text: Jetty builds the address from it, resolving a name; only a literal is
      // an address
      if (TrustedProxies.literal(isa.getHostString()) == null) {
        return "a PROXY header whose source is a name, not an IP address";
      }
      return null;
    }

    @Override
    public void onClosed(org.eclipse.jetty.io.Connection connection) {}
  }

  /**
   * Serves the issuer's TLS certificate and re-issues it from the authority once two thirds of its
   * life have passed, so an issuer that runs for months never presents an expired certificate. The
   * alias names one certificate, so a handshake reads chain and key of the same one.
   */
  static final class RenewingServerKeyManager extends javax.net.ssl.X509ExtendedKeyManager {
    private record Entry(
        String alias, X509Certificate[] chain, java.security.PrivateKey key, Instant renewAt) {}

    private final List<String> hostNames;
    private final CertificateAuthority ca;
    private final java.time.Clock clock;
    private final SecureRandom random;
    private volatile Entry current;
    private volatile Entry previous;

    RenewingServerKeyManager(
        List<String> hostNames,
        CertificateAuthority ca,
        java.time.Clock clock,
        SecureRandom random) {
      this.hostNames = List.copyOf(hostNames);
      this.ca = ca;
      this.clock = clock;
      this.random = random;
      this.current = issue();
    }

    private Entry issue() {
      Instant now = clock.instant();
      KeyPair tlsKey = CertificateAuthority.newP256(random);
      X509Certificate leaf = ca.issueServer(tlsKey.getPublic(), hostNames, now, TLS_VALIDITY);
      Instant from = leaf.getNotBefore().toInstant();
      Instant renewAt = from.plus(
          Duration.between(from, leaf.getNotAfter().toInstant()).multipliedBy(2).dividedBy(3));
      return new Entry(
          "issuer-tls-" + CertificateAuthority.serialHex(leaf),
          new X509Certificate[] {leaf, ca.certificate()},
          tlsKey.getPrivate(),
          renewAt);
    }

    private Entry fresh() {
      Entry e = current;
      if (!clock.instant().isBefore(e.renewAt())) {
        synchronized (this) {
          e = current;
          if (!clock.instant().isBefore(e.renewAt())) {
            previous = e;
            e = issue();
            current = e;
          }
        }
      }
      return e;
    }

    private Entry byAlias(String alias) {
      Entry c = current;
      if (c.alias().equals(alias)) {
        return c;
      }
      Entry p = previous;
      return p != null && p.alias().equals(alias) ? p : null;
    }

    @Override
    public String chooseServerAlias(
        String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
      return "EC".equalsIgnoreCase(keyType) || keyType == null ? fresh().alias() : null;
    }

    @Override
    public String chooseEngineServerAlias(
        String keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
      return chooseServerAlias(keyType, issuers, null);
    }

    @Override
    public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
      String a = chooseServerAlias(keyType, issuers, null);
      return a == null ? null : new String[] {a};
    }

    @Override
    public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseClientAlias(
        String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      Entry e = byAlias(alias);
      return e == null ? null : e.chain().clone();
    }

    @Override
    public java.security.PrivateKey getPrivateKey(String alias) {
      Entry e = byAlias(alias);
      return e == null ? null : e.key();
    }
  }

  /**
   * Accepts a client chain only if its leaf is signed by the issuer authority. Validity period and
   * key usage are checked per request against the issuer's clock (so a test clock applies), where a
   * failure becomes {@code unauthenticated} instead of a handshake failure.
   */
  static final class AuthorityTrustManager extends X509ExtendedTrustManager {
    private final X509Certificate authority;

    AuthorityTrustManager(X509Certificate authority) {
      this.authority = authority;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("empty client certificate chain");
      }
      X509Certificate leaf = chain[0];
      if (!leaf.getIssuerX500Principal().equals(authority.getSubjectX500Principal())) {
        throw new CertificateException("client certificate is not issued by the issuer authority");
      }
      try {
        leaf.verify(authority.getPublicKey());
      } catch (GeneralSecurityException e) {
        throw new CertificateException(
            "client certificate is not signed by the issuer authority", e);
      }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      throw new CertificateException("the issuer does not act as a TLS client");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[] {authority};
    }
  }
}
