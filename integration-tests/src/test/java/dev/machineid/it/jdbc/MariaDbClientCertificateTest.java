package dev.machineid.it.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.machineid.core.Credential;
import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.outputs.jdbc.MariaDbTlsPlugin;
import dev.machineid.outputs.jdbc.PgSslSocketFactory;
import dev.machineid.testkit.MariaDbServer;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/architecture.md §5 and §8 against a real MariaDB: database credentials log in through MariaDB
 * Connector/J's TLS plugin ({@code tlsSocketType=machineid}) with {@code sslMode=verify-full}, as
 * an account that MariaDB itself ties to the certificate ({@code REQUIRE SUBJECT '/CN=app'});
 * certificates of other purposes are refused by MariaDB's TLS layer; new connections present the
 * newest certificate after a rotation, also from a pool.
 *
 * <p>The server runs with a server certificate from {@link dev.machineid.issuer.Signing#databaseServer} (the
 * {@code database_server} authority) and {@code --ssl-ca} = the {@code database_client} authority
 * only. Its superuser authenticates by {@code unix_socket} only, so no account can log in over TCP
 * but {@code app}, and {@code app} only with a verified client certificate whose subject is exactly
 * {@code /CN=app} (MariaDB compares OpenSSL's one-line form of the subject).
 *
 * <p>MariaDB has no SQL view of the client certificate's serial (and the driver keeps its TLS
 * socket out of reach), so rotation is proven through expiry: see
 * {@link #newConnectionsPresentTheNewCertificateAfterRotationAlsoFromAPool}. The server runs with
 * {@code --log-warnings=4}, so that a connection its TLS layer refused is logged as aborted before
 * authentication.
 */
class MariaDbClientCertificateTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final String SUBJECT = "/CN=app";
  /** The strictest mode: the driver checks the chain and, through the plugin, the host name. */
  private static final String SSL_MODE = "verify-full";

  private static MariaDbServer maria;
  private static MachineIdentity id;

  @TempDir
  static Path tmp;

  @BeforeAll
  static void startMariaDbWithClientCertificates() throws Exception {
    Issuer issuer = ISSUER.start();
    issuer
        .roles()
        .create(new Role(
            "db-app",
            List.of(),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            Duration.ofMinutes(30),
            null));
    // a Kubernetes credential whose CN is also "app": only the authority tells it apart
    issuer
        .roles()
        .create(new Role(
            "k8s-as-app",
            List.of(),
            List.of(),
            List.of(),
            List.of("app"),
            List.of(),
            List.of(),
            false,
            null,
            null));

    KeyPair serverKey = KeyAlgorithm.EC_P256.generate();
    List<X509Certificate> chain = issuer
        .signing()
        .databaseServer(
            serverKey.getPublic(), List.of("localhost", "127.0.0.1"), Duration.ofHours(1));
    StringBuilder chainPem = new StringBuilder();
    for (X509Certificate c : chain) {
      chainPem.append(Pem.encode(c)).append('\n');
    }
    maria = MariaDbServer.builder()
        .tls(
            chainPem.toString(),
            Pem.encode(serverKey.getPrivate()),
            String.join("\n", issuer.authority().databaseClientAuthorities()) + "\n")
        .option("--log-warnings=4")
        .start();
    try {
      maria.sql("CREATE DATABASE appdb; "
          + "CREATE USER 'app'@'%' REQUIRE SUBJECT '" + SUBJECT + "'; "
          + "GRANT ALL PRIVILEGES ON appdb.* TO 'app'@'%'");
      // app is the only account for TCP clients: with --skip-name-resolve the localhost ones
      // (the unix_socket superuser, mariadb.sys) match the unix socket only
      assertThat(
              maria.sql(
                  "SELECT CONCAT(user, '@', host) FROM mysql.user WHERE host <> 'localhost' AND is_role = 'N'"))
          .as("accounts:%n%s", maria.sql("SELECT user, host, plugin FROM mysql.user"))
          .isEqualTo("app@%");
      assertThat(maria.sql("SHOW GLOBAL VARIABLES LIKE 'have_ssl'")).isEqualTo("have_ssl\tYES");
    } catch (RuntimeException | AssertionError e) {
      String log = maria.log();
      maria.close();
      throw new AssertionError(
          "could not configure MariaDB for client certificates; server log:\n" + log, e);
    }

    issuer.bots().create("maria-client", List.of("db-app", "k8s-as-app"), Map.of());
    TestBot bot = new TestBot(
        "maria-client",
        issuer.tokens().create("maria-client", Duration.ofHours(1)),
        issuer.url(),
        issuer.caPin());
    id = bot.identityBuilder().build();
    id.start();
  }

  @AfterAll
  static void stop() {
    if (id != null) {
      id.close();
    }
    if (maria != null) {
      maria.close();
    }
  }

  private static String url(String credential) {
    return url(credential, SSL_MODE);
  }

  private static String url(String credential, String sslMode) {
    return maria.jdbcUrl("") + "?user=app&sslMode=" + sslMode + "&tlsSocketType="
        + MariaDbTlsPlugin.TYPE + "&" + PgSslSocketFactory.PROPERTY + "=" + credential
        + "&connectTimeout=5000";
  }

  private static CredentialHandle database(String name) {
    return id.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
        .name(name)
        .roles("db-app")
        .databaseUser("app")
        .build());
  }

  private static String one(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).as(sql).isTrue();
      return rs.getString(1);
    }
  }

  @Test
  void databaseCredentialLogsInAsItsUser() throws Exception {
    try (CredentialHandle db = database("maria-app");
        Connection c = DriverManager.getConnection(url("maria-app"));
        Statement s = c.createStatement()) {
      X509Certificate leaf = db.current().certificate().orElseThrow();
      assertThat(leaf.getSubjectX500Principal().getName(X500Principal.RFC2253)).isEqualTo("CN=app");
      assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
      assertThat(
              one(
                  s,
                  "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_VERSION'"))
          .startsWith("TLSv1.");
      // the certificate is signed by the database_client authority, the only one in --ssl-ca
      X509Certificate clientCa = Pem.certificate(
          ISSUER.issuer().authority().databaseClientAuthorities().get(0));
      assertThat(leaf.getIssuerX500Principal()).isEqualTo(clientCa.getSubjectX500Principal());

      s.execute("CREATE TABLE appdb.orders (id INT PRIMARY KEY, amount DECIMAL(10,2))");
      try {
        s.executeUpdate("INSERT INTO appdb.orders VALUES (1, 10.5), (2, 20), (3, 30)");
        assertThat(one(s, "SELECT SUM(amount) FROM appdb.orders")).isEqualTo("60.50");
        assertThat(one(s, "SELECT COUNT(*) FROM appdb.orders WHERE id > 1")).isEqualTo("2");
      } finally {
        s.execute("DROP TABLE appdb.orders");
      }
    } catch (SQLException e) {
      throw new AssertionError(e + "\nserver log:\n" + maria.log(), e);
    }
  }

  /** The server certificate names {@code localhost}, the host of {@link MariaDbServer#jdbcUrl}. */
  @Test
  void verifyFullAcceptsTheHostTheServerCertificateNames() throws Exception {
    try (CredentialHandle db = database("maria-app-verify-full");
        Connection c = DriverManager.getConnection(url(db.name(), "verify-full"));
        Statement s = c.createStatement()) {
      assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
    }
  }

  /**
   * A server whose certificate names {@code localhost} only: with full verification the client
   * refuses to talk to it at {@code 127.0.0.1} (the same server, a name its certificate lacks)
   * before it logs in, and logs in at {@code localhost}.
   */
  @Test
  void verifyFullRefusesAServerWhoseCertificateLacksTheHostName() throws Exception {
    KeyPair serverKey = KeyAlgorithm.EC_P256.generate();
    List<X509Certificate> chain = ISSUER
        .issuer()
        .signing()
        .databaseServer(serverKey.getPublic(), List.of("localhost"), Duration.ofHours(1));
    List<Object> names = chain.get(0).getSubjectAlternativeNames().stream()
        .map(name -> (Object) name.get(1))
        .toList();
    assertThat(names).as("server certificate names").containsExactly("localhost");
    StringBuilder chainPem = new StringBuilder();
    for (X509Certificate c : chain) {
      chainPem.append(Pem.encode(c)).append('\n');
    }
    try (MariaDbServer localhostOnly = MariaDbServer.builder()
            .tls(
                chainPem.toString(),
                Pem.encode(serverKey.getPrivate()),
                String.join("\n", ISSUER.issuer().authority().databaseClientAuthorities()) + "\n")
            .start();
        CredentialHandle db = database("maria-app-host-name")) {
      localhostOnly.sql("CREATE USER 'app'@'%' REQUIRE SUBJECT '" + SUBJECT + "'");
      String query = "?user=app&sslMode=" + SSL_MODE + "&tlsSocketType=" + MariaDbTlsPlugin.TYPE
          + "&" + PgSslSocketFactory.PROPERTY + "=" + db.name() + "&connectTimeout=5000";

      String byAddress = "jdbc:mariadb://127.0.0.1:" + localhostOnly.port() + "/" + query;
      SQLException refused =
          catchSql(() -> DriverManager.getConnection(byAddress).close());
      assertThat((Object) refused)
          .as("connected to 127.0.0.1 with a certificate for localhost only")
          .isNotNull();
      assertThat(causes(refused))
          .contains("the database server's certificate does not name host '127.0.0.1'");

      try (Connection c = DriverManager.getConnection(localhostOnly.jdbcUrl("") + query);
          Statement s = c.createStatement()) {
        assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
      } catch (SQLException e) {
        throw new AssertionError(e + "\nserver log:\n" + localhostOnly.log(), e);
      }
    }
  }

  @Test
  void noTcpLoginWithoutTheDatabaseCredential() {
    // without TLS: app's account requires a certificate, the superuser authenticates by unix socket
    // only
    for (String user : List.of("app", "root", maria.superuser())) {
      assertThatThrownBy(() -> DriverManager.getConnection(
                  maria.jdbcUrl("") + "?user=" + user + "&sslMode=disable")
              .close())
          .as("TCP without TLS as %s", user)
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("Access denied");
    }
    // TLS, but no client certificate to present
    assertThatThrownBy(
            () -> DriverManager.getConnection(maria.jdbcUrl("") + "?user=app&sslMode=trust")
                .close())
        .as("TLS without a client certificate")
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("Access denied");
  }

  /**
   * The SDK's plugin pairs a handle's key with that handle's server trust, and a Kubernetes handle
   * does not trust database servers: the client would refuse first. So the foreign certificates go
   * through the driver's own TLS plugin instead (a PKCS12 key store, the database server authority
   * as {@code serverSslCert}); MariaDB sends no list of acceptable issuers, so the driver presents
   * whatever it has, and MariaDB's TLS layer answers with an alert. TLS 1.2, so that the alert
   * ends the client's handshake (in TLS 1.3 the client finishes first and may only see a broken
   * pipe when it writes its login packet).
   */
  @Test
  void kubernetesAndApplicationCertificatesAreRefusedByMariaDbItself() throws Exception {
    try (CredentialHandle db = database("maria-control");
        CredentialHandle k8s = id.credentials(CredentialRequest.builder(CredentialKind.KUBERNETES)
            .name("maria-k8s-as-app")
            .roles("k8s-as-app")
            .kubernetesUser("app")
            .build());
        CredentialHandle svid = id.credentials(CredentialRequest.builder(CredentialKind.APPLICATION)
            .name("maria-svid")
            .build())) {
      // the Kubernetes certificate names the same user: only its authority differs
      assertThat(k8s.current()
              .certificate()
              .orElseThrow()
              .getSubjectX500Principal()
              .getName(X500Principal.RFC2253))
          .startsWith("CN=app");
      Path serverCa = tmp.resolve("database-server-ca.pem");
      Files.writeString(
          serverCa,
          String.join("\n", ISSUER.issuer().authority().databaseServerAuthorities()) + "\n",
          StandardCharsets.US_ASCII);

      // control: the driver's own plugin with the database credential's key logs in
      try (Connection c = DriverManager.getConnection(keyStoreUrl(db.current(), serverCa));
          Statement s = c.createStatement()) {
        assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
      }
      for (CredentialHandle foreign : List.of(k8s, svid)) {
        String foreignUrl = keyStoreUrl(foreign.current(), serverCa);
        SQLException refused =
            catchSql(() -> DriverManager.getConnection(foreignUrl).close());
        assertThat((Object) refused)
            .as("%s certificate logged in", foreign.request().kind())
            .isNotNull();
        assertRefusedBeforeAuthentication(refused, "unknown_ca");
      }
    }
  }

  /**
   * The server's TLS layer refused the connection: the client either read the alert, or (when the
   * server closed while the client was still writing its flight) a reset or broken pipe; in both
   * cases MariaDB logs the connection as aborted before any authentication, not as "Access denied".
   */
  private static void assertRefusedBeforeAuthentication(SQLException refused, String alert) {
    String chain = causes(refused);
    assertThat(chain)
        .as("refused in TLS")
        .containsAnyOf("Received fatal alert: " + alert, "Broken pipe", "Connection reset");
    Matcher m = Pattern.compile("\\(conn=(\\d+)\\)").matcher(refused.getMessage());
    assertThat(m.find()).as("connection id in %s", refused.getMessage()).isTrue();
    String aborted = "Aborted connection " + m.group(1)
        + " to db: 'unconnected' user: 'unauthenticated' host: '127.0.0.1' "
        + "(This connection closed normally without authentication)";
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(maria.log())
        .as("server log (client saw: %s)", chain)
        .contains(aborted));
  }

  private interface SqlAction {
    void run() throws SQLException;
  }

  private static SQLException catchSql(SqlAction action) {
    try {
      action.run();
      return null;
    } catch (SQLException e) {
      return e;
    }
  }

  private static String causes(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      b.append(t).append(" <- ");
    }
    return b.toString();
  }

  private static String keyStoreUrl(Credential credential, Path serverCa) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    char[] password = "changeit".toCharArray();
    ks.setKeyEntry(
        "client",
        credential.privateKey().orElseThrow(),
        password,
        credential.certificateChain().toArray(new Certificate[0]));
    Path file = Files.createTempFile(tmp, "client-", ".p12");
    try (OutputStream out = Files.newOutputStream(file)) {
      ks.store(out, password);
    }
    return maria.jdbcUrl("") + "?user=app&sslMode=verify-full&keyStore=" + file
        + "&keyStorePassword=changeit" + "&keyStoreType=PKCS12&serverSslCert=" + serverCa
        + "&enabledSslProtocolSuites=TLSv1.2&connectTimeout=5000";
  }

  /**
   * Rotation. MariaDB shows no client certificate serial in SQL, so the proof is expiry: the
   * credential lives 6 s and rotates every 2 s (and once more on {@code refreshNow()}); once the
   * first certificate has expired, new connections through the plugin still log in, while that
   * expired certificate, presented through the driver's own plugin, is refused by MariaDB. So the
   * new connections presented a newer certificate. A connection made with the first certificate
   * keeps working (MariaDB checks the certificate only at the handshake), and a pool whose
   * connections are soft-evicted on each rotation keeps querying without a failure.
   */
  @Test
  void newConnectionsPresentTheNewCertificateAfterRotationAlsoFromAPool() throws Exception {
    List<Credential> issued = new CopyOnWriteArrayList<>();
    AtomicReference<HikariDataSource> poolRef = new AtomicReference<>();
    try (CredentialHandle h = id.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
            .name("maria-app-rotating")
            .roles("db-app")
            .databaseUser("app")
            .ttl(Duration.ofSeconds(6))
            .build());
        Connection before = DriverManager.getConnection(url("maria-app-rotating"))) {
      Credential first = h.current();
      issued.add(first);
      h.addListener(c -> {
        issued.add(c);
        HikariDataSource ds = poolRef.get();
        if (ds != null) {
          ds.getHikariPoolMXBean().softEvictConnections();
        }
      });
      assertThat(Duration.between(java.time.Instant.now(), first.notAfter()))
          .isLessThanOrEqualTo(Duration.ofSeconds(6));
      Path serverCa = tmp.resolve("rotation-server-ca.pem");
      Files.writeString(
          serverCa,
          String.join("\n", ISSUER.issuer().authority().databaseServerAuthorities()) + "\n",
          StandardCharsets.US_ASCII);
      String firstKeyStoreUrl = keyStoreUrl(first, serverCa);
      // control: the first certificate, through the driver's own plugin, logs in while it is valid
      try (Connection c = DriverManager.getConnection(firstKeyStoreUrl);
          Statement s = c.createStatement()) {
        assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
      }

      HikariConfig config = new HikariConfig();
      config.setPoolName("maria-rotation");
      config.setJdbcUrl(url(h.name()));
      config.setMaximumPoolSize(3);
      config.setMaxLifetime(30_000);
      config.setConnectionTimeout(5_000);
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      AtomicLong queries = new AtomicLong();
      AtomicBoolean running = new AtomicBoolean(true);
      try (HikariDataSource pool = new HikariDataSource(config)) {
        poolRef.set(pool);
        ExecutorService workers = Executors.newFixedThreadPool(3);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
          futures.add(workers.submit(() -> {
            while (running.get()) {
              try (Connection c = pool.getConnection();
                  Statement s = c.createStatement()) {
                String user = one(s, "SELECT CURRENT_USER()");
                if (!"app@%".equals(user)) {
                  failures.add(new AssertionError("CURRENT_USER() " + user));
                }
                queries.incrementAndGet();
              } catch (Throwable e) {
                failures.add(e);
              }
            }
          }));
        }
        try {
          Credential refreshed = h.refreshNow().get(30, TimeUnit.SECONDS);
          assertThat(refreshed.serialNumber()).isNotEqualTo(first.serialNumber());
          try (Connection c = DriverManager.getConnection(url(h.name()));
              Statement s = c.createStatement()) {
            assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
          }
          // wait until the first certificate has expired and the credential has rotated a few times
          await("first certificate expired")
              .atMost(Duration.ofSeconds(30))
              .pollInterval(Duration.ofMillis(200))
              .until(() -> java.time.Instant.now().isAfter(first.notAfter().plusSeconds(1))
                  && issued.size() >= 4);
          pool.getHikariPoolMXBean().softEvictConnections();
          long after = queries.get();
          await("pool queries after expiry")
              .atMost(Duration.ofSeconds(10))
              .until(() -> queries.get() > after + 20);
        } finally {
          running.set(false);
          for (Future<?> f : futures) {
            f.get();
          }
          workers.shutdown();
        }
      }
      assertThat(failures).as("failed queries").isEmpty();
      assertThat(queries.get()).isGreaterThan(50);

      // a new connection through the plugin logs in: it presented a certificate that has not
      // expired
      try (Connection c = DriverManager.getConnection(url(h.name()));
          Statement s = c.createStatement()) {
        assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
        assertThat(h.current().notAfter()).isAfter(java.time.Instant.now());
        assertThat(h.current().serialNumber()).isNotEqualTo(first.serialNumber());
      }
      // the first certificate, now expired, is refused by MariaDB's TLS layer
      SQLException refused =
          catchSql(() -> DriverManager.getConnection(firstKeyStoreUrl).close());
      assertThat((Object) refused).as("the expired first certificate logged in").isNotNull();
      assertRefusedBeforeAuthentication(refused, "certificate_expired");
      // the connection made with the first certificate still works
      try (Statement s = before.createStatement()) {
        assertThat(one(s, "SELECT CURRENT_USER()")).isEqualTo("app@%");
      }
    } catch (SQLException e) {
      throw new AssertionError(e + "\nserver log:\n" + maria.log(), e);
    }
  }
}
