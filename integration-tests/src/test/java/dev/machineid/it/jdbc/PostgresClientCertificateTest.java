package dev.machineid.it.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.IssuerException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.outputs.jdbc.PgSslSocketFactory;
import dev.machineid.testkit.PostgresServer;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
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
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * docs/architecture.md §5 and §8 against a real PostgreSQL: database credentials log in through pgjdbc's
 * {@code sslfactory} with {@code sslmode=verify-full} and {@code pg_hba.conf} {@code cert}
 * authentication; certificates of other purposes are refused by PostgreSQL itself; a pooled
 * application keeps querying while the credential rotates.
 *
 * <p>The server runs with {@code ssl=on}, a server certificate from
 * {@link dev.machineid.issuer.Signing#databaseServer} (the {@code database_server} authority) and
 * {@code ssl_ca_file} = the {@code database_client} authority only. Its {@code pg_hba.conf} ends up
 * with exactly {@code local all all trust} and {@code hostssl all all 127.0.0.1/32 cert}: no other
 * TCP line. The fixture's default TCP {@code trust} line is used once, before any test, to create
 * the role {@code app} and switch TLS on (the key files can only be written once {@code initdb}
 * has made the data directory, so TLS is set with {@code ALTER SYSTEM} and a reload rather than
 * with start-up settings), and is then removed; {@link #noTcpLoginWithoutTheDatabaseCredential}
 * checks that it is gone.
 */
class PostgresClientCertificateTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final String VERIFY_FAILED = "certificate verify failed";

  private static PostgresServer pg;
  private static MachineIdentity id;

  @BeforeAll
  static void startPostgresWithClientCertificates() throws Exception {
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

    pg = PostgresServer.builder().start();
    try {
      configureTls(issuer);
    } catch (Exception | AssertionError e) {
      String log = pg.log();
      pg.close();
      throw new AssertionError(
          "could not configure PostgreSQL for client certificates; server log:\n" + log, e);
    }

    issuer.bots().create("pg-client", List.of("db-app", "k8s-as-app"), Map.of());
    TestBot bot = new TestBot(
        "pg-client",
        issuer.tokens().create("pg-client", Duration.ofHours(1)),
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
    if (pg != null) {
      pg.close();
    }
  }

  private static void configureTls(Issuer issuer) throws Exception {
    Path data = pg.dataDirectory();
    KeyPair serverKey = KeyAlgorithm.EC_P256.generate();
    List<X509Certificate> chain = issuer
        .signing()
        .databaseServer(
            serverKey.getPublic(), List.of("localhost", "127.0.0.1"), Duration.ofHours(1));
    // PostgreSQL refuses a key file that others can read, and the server runs as an unprivileged
    // user
    writeForServer(data.resolve("server.key"), Pem.encode(serverKey.getPrivate()), "rw-------");
    writeForServer(data.resolve("server.crt"), Pem.encode(chain.get(0)), "rw-r--r--");
    writeForServer(
        data.resolve("database-client-ca.crt"),
        String.join("\n", issuer.authority().databaseClientAuthorities()) + "\n",
        "rw-r--r--");

    try (Connection c = DriverManager.getConnection(
            pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null);
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE app LOGIN");
      // relative paths are relative to the data directory
      s.execute("ALTER SYSTEM SET ssl_cert_file = 'server.crt'");
      s.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'");
      s.execute("ALTER SYSTEM SET ssl_ca_file = 'database-client-ca.crt'");
      s.execute("ALTER SYSTEM SET ssl = on");
      s.execute("SELECT pg_reload_conf()");
    }
    // reloads are asynchronous: a new session sees ssl=on once the postmaster has reloaded
    await("ssl reloaded").atMost(Duration.ofSeconds(10)).until(() -> "on"
        .equals(superuser("SHOW ssl")));
    Files.writeString(
        data.resolve("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 cert\n",
        StandardCharsets.UTF_8);
    try (Connection c = DriverManager.getConnection(
            pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null);
        Statement s = c.createStatement()) {
      try (ResultSet rs = s.executeQuery(
          "select type, coalesce(address, ''), auth_method, error from pg_hba_file_rules order by line_number")) {
        List<String> rules = new ArrayList<>();
        while (rs.next()) {
          assertThat(rs.getString(4)).as("pg_hba.conf error").isNull();
          rules.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3));
        }
        assertThat(rules).containsExactly("local  trust", "hostssl 127.0.0.1 cert");
      }
      s.execute("SELECT pg_reload_conf()");
    }
    // wait until the TCP trust line is gone
    await("pg_hba.conf reloaded")
        .atMost(Duration.ofSeconds(10))
        .until(() -> plainSuperuserLoginRefused());
  }

  private static void writeForServer(Path file, String content, String mode) throws IOException {
    Files.deleteIfExists(file);
    Files.createFile(
        file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
    Files.writeString(file, content, StandardCharsets.US_ASCII);
    if (pg.serverUser() != null) {
      Files.setOwner(
          file,
          file.getFileSystem()
              .getUserPrincipalLookupService()
              .lookupPrincipalByName(pg.serverUser()));
    }
  }

  private static String superuser(String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(
            pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null);
        Statement s = c.createStatement()) {
      return one(s, sql);
    }
  }

  private static boolean plainSuperuserLoginRefused() {
    try {
      DriverManager.getConnection(pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null)
          .close();
      return false;
    } catch (SQLException e) {
      return e.getMessage().contains("no pg_hba.conf entry");
    }
  }

  private static String url(String credential) {
    return "jdbc:postgresql://localhost:" + pg.port() + "/postgres?sslmode=verify-full&sslfactory="
        + PgSslSocketFactory.class.getName() + "&" + PgSslSocketFactory.PROPERTY + "=" + credential;
  }

  private static Connection connect(String url, String user) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    p.setProperty("connectTimeout", "5");
    return DriverManager.getConnection(url, p);
  }

  private static CredentialHandle database(String name, Duration ttl) {
    CredentialRequest.Builder b = CredentialRequest.builder(CredentialKind.DATABASE)
        .name(name)
        .roles("db-app")
        .databaseUser("app");
    return id.credentials(ttl == null ? b.build() : b.ttl(ttl).build());
  }

  private static String one(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).as(sql).isTrue();
      return rs.getString(1);
    }
  }

  private static long occurrences(String text, String needle) {
    long n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  @Test
  void databaseCredentialLogsInAsItsUserWithVerifyFull() throws Exception {
    try (CredentialHandle db = database("pg-app", null);
        Connection c = connect(url("pg-app"), "app");
        Statement s = c.createStatement()) {
      assertThat(one(s, "select current_user")).isEqualTo("app");
      try (ResultSet rs = s.executeQuery(
          "select ssl, client_dn, client_serial, issuer_dn from pg_stat_ssl where pid = pg_backend_pid()")) {
        assertThat(rs.next()).isTrue();
        assertThat(rs.getBoolean(1)).isTrue();
        assertThat(rs.getString(2)).isEqualTo("/CN=app");
        assertThat(rs.getBigDecimal(3).toBigIntegerExact())
            .isEqualTo(db.current().serialNumber().orElseThrow());
        X509Certificate leaf = db.current().certificate().orElseThrow();
        // signed by the database_client authority, the only one in ssl_ca_file
        X509Certificate clientCa = Pem.certificate(
            ISSUER.issuer().authority().databaseClientAuthorities().get(0));
        assertThat(leaf.getIssuerX500Principal()).isEqualTo(clientCa.getSubjectX500Principal());
        String caName = new javax.naming.ldap.LdapName(
                clientCa.getSubjectX500Principal().getName(X500Principal.RFC2253))
            .getRdns().stream()
                .filter(r -> r.getType().equalsIgnoreCase("CN"))
                .findFirst()
                .orElseThrow()
                .getValue()
                .toString();
        assertThat(rs.getString(4)).contains("CN=" + caName);
      }
      s.execute("create temporary table orders (id int primary key, amount numeric)");
      s.executeUpdate("insert into orders values (1, 10.5), (2, 20), (3, 30)");
      assertThat(one(s, "select sum(amount) from orders")).isEqualTo("60.5");
      assertThat(one(s, "select count(*) from orders where id > 1")).isEqualTo("2");
    } catch (SQLException e) {
      throw new AssertionError(e + "\nserver log:\n" + pg.log(), e);
    }
  }

  @Test
  void issuerRefusesADatabaseUserTheRoleDoesNotAllowAndPostgresRefusesTheWrongUser()
      throws Exception {
    assertThatThrownBy(() -> id.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
            .name("pg-postgres")
            .roles("db-app")
            .databaseUser("postgres")
            .build()))
        .isInstanceOf(IssuerException.class)
        .satisfies(e -> assertThat(((IssuerException) e).code()).isEqualTo("role_denied"));
    // app's certificate does not log in as postgres either: cert auth maps the CN to the user
    try (CredentialHandle db = database("pg-app-as-postgres", null)) {
      assertThatThrownBy(() -> connect(url(db.name()), "postgres").close())
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("certificate authentication failed for user \"postgres\"");
    }
  }

  @Test
  void noTcpLoginWithoutTheDatabaseCredential() {
    assertThat(plainSuperuserLoginRefused()).as("TCP without TLS, as postgres").isTrue();
    // TLS without a client certificate (the client trusts the server, but has nothing to present)
    Properties p = new Properties();
    p.setProperty("user", "app");
    p.setProperty("sslmode", "require");
    p.setProperty("sslfactory", "org.postgresql.ssl.NonValidatingFactory");
    assertThatThrownBy(
            () -> DriverManager.getConnection(pg.jdbcUrl("postgres"), p).close())
        .isInstanceOf(SQLException.class);
  }

  @Test
  @SuppressWarnings("try") // "pg-trust" is held open: the control connection looks it up by name
  void kubernetesAndApplicationCertificatesAreRefusedByPostgresItself() throws Exception {
    try (CredentialHandle trust = database("pg-trust", null);
        CredentialHandle k8s = id.credentials(CredentialRequest.builder(CredentialKind.KUBERNETES)
            .name("pg-k8s-as-app")
            .roles("k8s-as-app")
            .kubernetesUser("app")
            .build());
        CredentialHandle svid = id.credentials(CredentialRequest.builder(CredentialKind.APPLICATION)
            .name("pg-svid")
            .build())) {
      // the Kubernetes certificate names the same user: only its authority differs
      assertThat(k8s.current()
              .certificate()
              .orElseThrow()
              .getSubjectX500Principal()
              .getName(X500Principal.RFC2253))
          .startsWith("CN=app");

      // control: the same factory with the database credential's own key logs in
      try (Connection c = connect(foreignUrl("pg-trust"), "app");
          Statement s = c.createStatement()) {
        assertThat(one(s, "select current_user")).isEqualTo("app");
      }
      for (CredentialHandle foreign : List.of(k8s, svid)) {
        long before = occurrences(pg.log(), VERIFY_FAILED);
        assertThatThrownBy(() -> connect(foreignUrl(foreign.name()), "app").close())
            .as("%s certificate", foreign.request().kind())
            .isInstanceOf(SQLException.class);
        // the refusal is PostgreSQL's: its TLS layer did not verify the certificate against
        // ssl_ca_file
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(
                occurrences(pg.log(), VERIFY_FAILED))
            .as("server log:\n%s", pg.log())
            .isGreaterThan(before));
      }
    }
  }

  private static String foreignUrl(String keyHandle) {
    return "jdbc:postgresql://localhost:" + pg.port() + "/postgres?sslmode=verify-full&sslfactory="
        + ForeignKeySslSocketFactory.class.getName() + "&" + PgSslSocketFactory.PROPERTY + "="
        + keyHandle
        + "&" + ForeignKeySslSocketFactory.TRUST_PROPERTY + "=pg-trust";
  }

  /**
   * Rotation under load through HikariCP. The documented rule is a pool {@code maxLifetime} below
   * the certificate TTL, but Hikari's smallest {@code maxLifetime} is 30 s and a test cannot wait
   * for several credentials of 30 s or more. So the pool keeps {@code maxLifetime} at that minimum
   * and a handle listener soft-evicts the pool's connections on each rotation: idle ones close at
   * once, busy ones when returned, so the next borrow opens a connection (a new handshake) with the
   * newest certificate. Connections made before a rotation stay valid: PostgreSQL checks the
   * certificate only at the handshake.
   */
  @Test
  void pooledQueriesNeverFailAcrossFiveRotationsAndPostgresSeesEachNewSerial() throws Exception {
    List<BigInteger> issued = new CopyOnWriteArrayList<>();
    AtomicReference<HikariDataSource> poolRef = new AtomicReference<>();
    try (CredentialHandle h = database("pg-app-rotating", Duration.ofSeconds(6))) {
      h.addListener(c -> {
        issued.add(c.serialNumber().orElseThrow());
        HikariDataSource ds = poolRef.get();
        if (ds != null) {
          ds.getHikariPoolMXBean().softEvictConnections();
        }
      });
      ((CopyOnWriteArrayList<BigInteger>) issued)
          .addIfAbsent(h.current().serialNumber().orElseThrow());
      assertThat(Duration.between(java.time.Instant.now(), h.current().notAfter()))
          .isLessThanOrEqualTo(Duration.ofSeconds(6));

      HikariConfig config = new HikariConfig();
      config.setPoolName("pg-rotation");
      config.setJdbcUrl(url(h.name()));
      config.setUsername("app");
      config.setMaximumPoolSize(4);
      config.setMaxLifetime(30_000);
      config.setConnectionTimeout(5_000);
      Map<BigInteger, Long> seen = new ConcurrentHashMap<>();
      List<Throwable> failures = new CopyOnWriteArrayList<>();
      AtomicLong queries = new AtomicLong();
      AtomicBoolean running = new AtomicBoolean(true);
      try (HikariDataSource pool = new HikariDataSource(config)) {
        poolRef.set(pool);
        ExecutorService workers = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
          futures.add(workers.submit(() -> {
            while (running.get()) {
              try (Connection c = pool.getConnection();
                  Statement s = c.createStatement();
                  ResultSet rs = s.executeQuery(
                      "select current_user, client_serial from pg_stat_ssl where pid = pg_backend_pid()")) {
                rs.next();
                if (!"app".equals(rs.getString(1))) {
                  failures.add(new AssertionError("current_user " + rs.getString(1)));
                }
                seen.merge(rs.getBigDecimal(2).toBigIntegerExact(), 1L, Long::sum);
                queries.incrementAndGet();
              } catch (Exception e) {
                failures.add(e);
              }
            }
          }));
        }
        try {
          // the first credential plus five rotations, and the fifth rotation's certificate in use
          await()
              .atMost(Duration.ofSeconds(30))
              .until(() -> issued.size() >= 6 && seen.containsKey(issued.get(5)));
        } finally {
          running.set(false);
          for (Future<?> f : futures) {
            f.get();
          }
          workers.shutdown();
        }
      }
      assertThat(failures).as("failed queries").isEmpty();
      assertThat(queries.get()).isGreaterThan(100);
      for (BigInteger serial : issued.subList(0, 6)) {
        assertThat(seen)
            .as("pg_stat_ssl.client_serial showed %s (seen: %s)", serial, seen)
            .containsKey(serial);
      }
    }
  }
}
