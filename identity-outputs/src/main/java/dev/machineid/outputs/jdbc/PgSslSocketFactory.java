package dev.machineid.outputs.jdbc;

import dev.machineid.core.CredentialHandle;
import dev.machineid.core.tls.DelegatingSslSocketFactory;
import java.util.Objects;
import java.util.Properties;
import javax.net.ssl.SSLSocketFactory;

/**
 * pgjdbc {@code sslfactory} that takes the client certificate and the server's trust from a
 * {@link CredentialHandle}, so every new connection presents the newest database certificate.
 *
 * <pre>
 * jdbc:postgresql://db.internal:5432/app?sslmode=verify-full
 *     &amp;sslfactory=dev.machineid.outputs.jdbc.PgSslSocketFactory
 *     &amp;machineidCredential=orders-db
 * </pre>
 *
 * The handle is found by name in the process-wide registry ({@link CredentialHandle#lookup}); open
 * it with {@code identity.credentials(CredentialRequest.builder(DATABASE).name("orders-db")…)}
 * before the pool opens connections. pgjdbc keeps checking the host name for {@code verify-full}.
 * Connections made before a rotation keep their certificate until they close: set the pool's maximum
 * connection lifetime below the certificate TTL.
 */
public final class PgSslSocketFactory extends DelegatingSslSocketFactory {
  /** The connection property naming the credential handle. */
  public static final String PROPERTY = "machineidCredential";

  private final CredentialHandle handle;

  /** The constructor pgjdbc calls, with the connection's properties. */
  public PgSslSocketFactory(Properties info) {
    Objects.requireNonNull(info, "info");
    String name = info.getProperty(PROPERTY);
    if (name == null) {
      name = info.getProperty("sslfactoryarg");
    }
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("set the connection property '" + PROPERTY
          + "' to the name of an open CredentialHandle (or pass it as sslfactoryarg)");
    }
    String n = name;
    this.handle = CredentialHandle.lookup(n)
        .orElseThrow(() -> new IllegalStateException("no open CredentialHandle named '" + n
            + "': call identity.credentials(…name(\"" + n + "\")…) before opening connections"));
  }

  @Override
  protected SSLSocketFactory delegate() {
    return handle.sslContext().getSocketFactory();
  }
}
