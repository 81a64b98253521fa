package dev.machineid.outputs.jdbc;

import dev.machineid.core.CredentialHandle;
import java.sql.SQLException;
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
// "exports": the driver's plugin interface and types are this class's API by design; the driver is
// optional
// (requires static), so an application that uses this plugin has MariaDB Connector/J itself
@SuppressWarnings("exports")
public final class MariaDbTlsPlugin implements TlsSocketPlugin {
  public static final String TYPE = "machineid";

  /** Called by the driver, which finds the plugin through {@link java.util.ServiceLoader}. */
  public MariaDbTlsPlugin() {}

  @Override
  public String type() {
    return TYPE;
  }

  private static CredentialHandle handle(Configuration conf, ExceptionFactory exceptions)
      throws SQLException {
    String name = conf.nonMappedOptions().getProperty(PgSslSocketFactory.PROPERTY);
    if (name == null || name.isBlank()) {
      throw exceptions.create(
          "set the connection option '" + PgSslSocketFactory.PROPERTY
              + "' to the name of an open CredentialHandle",
          "08000");
    }
    return CredentialHandle.lookup(name)
        .orElseThrow(() -> exceptions.create(
            "no open CredentialHandle named '" + name
                + "': open it with identity.credentials(…) first",
            "08000"));
  }

  @Override
  public TrustManager[] getTrustManager(
      Configuration conf, ExceptionFactory exceptions, HostAddress host) throws SQLException {
    return new TrustManager[] {handle(conf, exceptions).trustManager()};
  }

  @Override
  public KeyManager[] getKeyManager(Configuration conf, ExceptionFactory exceptions)
      throws SQLException {
    return new KeyManager[] {handle(conf, exceptions).keyManager()};
  }

  @Override
  public void verify(String host, SSLSession session, long serverThreadId) throws SSLException {
    java.security.cert.Certificate[] peer = session.getPeerCertificates();
    if (peer.length == 0
        || !(peer[0] instanceof java.security.cert.X509Certificate leaf)
        || !names(leaf, host)) {
      throw new SSLException("the database server's certificate does not name host '" + host + "'");
    }
  }

  /**
   * RFC 6125 matching against the subject alternative names: IP addresses exactly, DNS names
   * case-insensitively with a wildcard allowed only as the whole left-most label.
   */
  static boolean names(java.security.cert.X509Certificate leaf, String host) {
    try {
      java.util.Collection<java.util.List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans == null) {
        return false;
      }
      boolean ip =
          host.indexOf(':') >= 0 || host.chars().allMatch(c -> c == '.' || Character.isDigit(c));
      for (java.util.List<?> san : sans) {
        int type = (Integer) san.get(0);
        String value = String.valueOf(san.get(1));
        if (ip
            && type == 7
            && java.net.InetAddress.getByName(value).equals(java.net.InetAddress.getByName(host))) {
          return true;
        }
        if (!ip && type == 2 && dnsMatches(value, host)) {
          return true;
        }
      }
      return false;
    } catch (java.security.cert.CertificateParsingException | java.net.UnknownHostException e) {
      return false;
    }
  }

  private static boolean dnsMatches(String pattern, String host) {
    String p = pattern.toLowerCase(java.util.Locale.ROOT);
    String h = host.toLowerCase(java.util.Locale.ROOT);
    if (p.startsWith("*.")) {
      int dot = h.indexOf('.');
      return dot > 0 && h.substring(dot).equals(p.substring(1));
    }
    return p.equals(h);
  }
}
