package dev.machineid.outputs.jdbc;

import dev.machineid.core.CredentialHandle;
import java.sql.SQLException;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.TrustManager;
import org.mariadb.jdbc.Configuration;
import org.mariadb.jdbc.HostAddress;
import org.mariadb.jdbc.export.ExceptionFactory;
import org.mariadb.jdbc.plugin.TlsSocketPlugin;

/**
 * MariaDB Connector/J 3.x TLS plugin that serves the client certificate and server trust from a
 * {@link CredentialHandle}. Select it with {@code tlsSocketType=machineid} and name the handle with
 * {@code machineidCredential=<name>}:
 *
 * <pre>
 * jdbc:mariadb://db.internal:3306/app?sslMode=verify-full&amp;tlsSocketType=machineid&amp;machineidCredential=orders-db
 * </pre>
 *
 * The driver builds a TLS context per connection from these managers, so each connection presents the
 * newest certificate.
 */
public final class MariaDbTlsPlugin implements TlsSocketPlugin {
  public static final String TYPE = "machineid";
  private static final HostnameVerifier HOSTNAMES = HttpsURLConnection.getDefaultHostnameVerifier();

  @Override
  public String type() {
    return TYPE;
  }

  private static CredentialHandle handle(Configuration conf, ExceptionFactory exceptions) throws SQLException {
    String name = conf.nonMappedOptions().getProperty(PgSslSocketFactory.PROPERTY);
    if (name == null || name.isBlank()) {
      throw exceptions.create("set the connection option '" + PgSslSocketFactory.PROPERTY
          + "' to the name of an open CredentialHandle", "08000");
    }
    return CredentialHandle.lookup(name).orElseThrow(() -> exceptions.create(
        "no open CredentialHandle named '" + name + "': open it with identity.credentials(…) first", "08000"));
  }

  @Override
  public TrustManager[] getTrustManager(Configuration conf, ExceptionFactory exceptions, HostAddress host) throws SQLException {
    return new TrustManager[] {handle(conf, exceptions).trustManager()};
  }

  @Override
  public KeyManager[] getKeyManager(Configuration conf, ExceptionFactory exceptions) throws SQLException {
    return new KeyManager[] {handle(conf, exceptions).keyManager()};
  }

  @Override
  public void verify(String host, SSLSession session, long serverThreadId) throws SSLException {
    if (!HOSTNAMES.verify(host, session)) {
      throw new SSLException("the database server's certificate does not name host '" + host + "'");
    }
  }
}
