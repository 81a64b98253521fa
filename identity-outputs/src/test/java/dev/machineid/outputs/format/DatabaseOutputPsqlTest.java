package dev.machineid.outputs.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.testkit.PostgresServer;
import dev.machineid.testkit.issuer.IssuerExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Issue 5: the real psql client logs in with sslmode=verify-full using only the database output's files. */
class DatabaseOutputPsqlTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir
  Path tmp;

  @Test
  @SuppressWarnings("try") // the identity is held running while psql reads its output files
  void psqlConnectsWithVerifyFullUsingTheDatabaseOutputFiles() throws Exception {
    String psql = Tools.require("psql", "postgresql-client");
    Issuer issuer = ISSUER.start();
    issuer
        .roles()
        .create(new Role(
            "out-pg",
            List.of(),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    try (PostgresServer pg = PostgresServer.builder().start()) {
      configureTls(pg, issuer);
      Path dir = tmp.resolve("db");
      try (MachineIdentity id = FileOutputsTest.start(
          ISSUER,
          List.of("out-pg"),
          FileOutputsTest.output(
              "database",
              Map.of("type", "database", "roles", List.of("out-pg"), "username", "app"),
              dir))) {
        String conninfo =
            "host=localhost port=" + pg.port() + " dbname=postgres user=app sslmode=verify-full"
                + " sslrootcert=" + dir.resolve("tls.cas") + " sslcert=" + dir.resolve("tls.crt")
                + " sslkey=" + dir.resolve("tls.key");
        Tools.Result r = Tools.run(
            psql,
            conninfo,
            "-tA",
            "-c",
            "select current_user || ' ' || ssl from pg_stat_ssl where pid = pg_backend_pid()");
        assertThat(r.exit()).as(r.output() + "\n" + pg.log()).isZero();
        assertThat(r.output().strip()).isEqualTo("app true");
      }
    }
  }

  private static void configureTls(PostgresServer pg, Issuer issuer) throws Exception {
    Path data = pg.dataDirectory();
    KeyPair serverKey = KeyAlgorithm.EC_P256.generate();
    List<X509Certificate> chain = issuer
        .signing()
        .databaseServer(
            serverKey.getPublic(), List.of("localhost", "127.0.0.1"), Duration.ofHours(1));
    write(pg, data.resolve("server.key"), Pem.encode(serverKey.getPrivate()), "rw-------");
    write(pg, data.resolve("server.crt"), Pem.encode(chain.get(0)), "rw-r--r--");
    write(
        pg,
        data.resolve("database-client-ca.crt"),
        String.join("\n", issuer.authority().databaseClientAuthorities()) + "\n",
        "rw-r--r--");
    try (Connection c = DriverManager.getConnection(
            pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null);
        Statement s = c.createStatement()) {
      s.execute("CREATE ROLE app LOGIN");
      s.execute("ALTER SYSTEM SET ssl_cert_file = 'server.crt'");
      s.execute("ALTER SYSTEM SET ssl_key_file = 'server.key'");
      s.execute("ALTER SYSTEM SET ssl_ca_file = 'database-client-ca.crt'");
      s.execute("ALTER SYSTEM SET ssl = on");
      s.execute("SELECT pg_reload_conf()");
    }
    await("ssl on").atMost(Duration.ofSeconds(10)).until(() -> "on"
        .equals(superuser(pg, "SHOW ssl")));
    Files.writeString(
        data.resolve("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 cert\n",
        StandardCharsets.UTF_8);
    try (Connection c = DriverManager.getConnection(
            pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null);
        Statement s = c.createStatement()) {
      s.execute("SELECT pg_reload_conf()");
    }
    await("pg_hba reloaded").atMost(Duration.ofSeconds(10)).until(() -> {
      try {
        DriverManager.getConnection(pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null)
            .close();
        return false;
      } catch (java.sql.SQLException e) {
        return e.getMessage().contains("no pg_hba.conf entry");
      }
    });
  }

  private static String superuser(PostgresServer pg, String sql) throws Exception {
    try (Connection c = DriverManager.getConnection(
            pg.jdbcUrl("postgres") + "?sslmode=disable", "postgres", null);
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static void write(PostgresServer pg, Path file, String content, String mode)
      throws Exception {
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
}
