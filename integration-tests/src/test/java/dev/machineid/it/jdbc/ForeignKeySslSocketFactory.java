package dev.machineid.it.jdbc;

import dev.machineid.core.CredentialHandle;
import dev.machineid.outputs.jdbc.PgSslSocketFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Properties;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A test-only pgjdbc {@code sslfactory} that presents the certificate of one credential handle
 * ({@code machineidCredential}) while trusting the server through another ({@code machineidServerTrust}),
 * and that presents it <em>even if the server's list of acceptable issuers does not name its
 * authority</em> (the SDK's key manager would otherwise withhold it). This lets a test hand a
 * kubernetes or application certificate to PostgreSQL and see PostgreSQL itself refuse it, rather
 * than the client refusing the server (a kubernetes handle does not trust database servers).
 */
public final class ForeignKeySslSocketFactory extends SSLSocketFactory {
  /** The connection property naming the handle whose trust manager checks the server. */
  public static final String TRUST_PROPERTY = "machineidServerTrust";

  private final SSLSocketFactory delegate;

  public ForeignKeySslSocketFactory(Properties info) throws GeneralSecurityException {
    CredentialHandle key = handle(info, PgSslSocketFactory.PROPERTY);
    CredentialHandle trust = handle(info, TRUST_PROPERTY);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(
        new KeyManager[] {new IgnoringIssuers(key.keyManager())},
        new TrustManager[] {trust.trustManager()},
        null);
    this.delegate = context.getSocketFactory();
  }

  private static CredentialHandle handle(Properties info, String property) {
    String name = info.getProperty(property);
    if (name == null) {
      throw new IllegalArgumentException("set the connection property " + property);
    }
    return CredentialHandle.lookup(name)
        .orElseThrow(() -> new IllegalStateException("no open handle " + name));
  }

  /** Chooses the handle's certificate whatever issuers the server asks for. */
  private static final class IgnoringIssuers extends X509ExtendedKeyManager {
    private final X509ExtendedKeyManager keys;

    IgnoringIssuers(X509ExtendedKeyManager keys) {
      this.keys = keys;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return keys.getClientAliases(keyType, null);
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return keys.chooseClientAlias(keyType, null, socket);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return keys.chooseEngineClientAlias(keyType, null, engine);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return keys.getCertificateChain(alias);
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return keys.getPrivateKey(alias);
    }
  }

  @Override
  public String[] getDefaultCipherSuites() {
    return delegate.getDefaultCipherSuites();
  }

  @Override
  public String[] getSupportedCipherSuites() {
    return delegate.getSupportedCipherSuites();
  }

  @Override
  public Socket createSocket() throws IOException {
    return delegate.createSocket();
  }

  @Override
  public Socket createSocket(Socket s, String host, int port, boolean autoClose)
      throws IOException {
    return delegate.createSocket(s, host, port, autoClose);
  }

  @Override
  public Socket createSocket(String host, int port) throws IOException {
    return delegate.createSocket(host, port);
  }

  @Override
  public Socket createSocket(String host, int port, InetAddress localHost, int localPort)
      throws IOException {
    return delegate.createSocket(host, port, localHost, localPort);
  }

  @Override
  public Socket createSocket(InetAddress host, int port) throws IOException {
    return delegate.createSocket(host, port);
  }

  @Override
  public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
      throws IOException {
    return delegate.createSocket(address, port, localAddress, localPort);
  }
}
