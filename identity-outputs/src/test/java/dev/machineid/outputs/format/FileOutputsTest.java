package dev.machineid.outputs.format;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.CredentialHandle;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.output.Output;
import dev.machineid.core.output.OutputProvider;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.outputs.destination.DirectoryDestination;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Issue 5: the file output kinds, checked with the tools that read them (openssl, kubectl). */
class FileOutputsTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final AtomicInteger BOTS = new AtomicInteger();

  @TempDir
  Path tmp;

  @BeforeAll
  static void roles() {
    Issuer issuer = ISSUER.start();
    issuer
        .roles()
        .create(new Role(
            "out-db",
            List.of(),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "out-k8s",
            List.of(),
            List.of(),
            List.of("viewers", "deployers"),
            List.of("ci-bot"),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "out-jwt",
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of("billing"),
            false,
            null,
            null));
  }

  static Output output(String type, Map<String, Object> settings, Path dir) {
    OutputProvider p = ServiceLoader.load(OutputProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(x -> x.type().equals(type))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no provider for " + type));
    return p.create(settings, DirectoryDestination.of(dir));
  }

  static MachineIdentity start(List<String> roles, Output... outputs) {
    return start(ISSUER, roles, outputs);
  }

  static MachineIdentity start(IssuerExtension extension, List<String> roles, Output... outputs) {
    String name = "out-" + BOTS.incrementAndGet();
    Issuer issuer = extension.issuer();
    issuer.bots().create(name, roles, Map.of());
    TestBot bot = new TestBot(
        name, issuer.tokens().create(name, Duration.ofHours(1)), issuer.url(), issuer.caPin());
    MachineIdentity.Builder b = bot.identityBuilder();
    for (Output o : outputs) {
      b.output(o);
    }
    MachineIdentity id = b.build();
    id.start();
    return id;
  }

  @Test
  void spiffeX509SvidVerifiesAgainstItsBundleWithOpenssl() throws Exception {
    String openssl = Tools.require("openssl", "openssl");
    Path dir = tmp.resolve("svid");
    try (MachineIdentity id =
        start(List.of(), output("spiffe-x509", Map.of("type", "spiffe-x509"), dir))) {
      Tools.Result r = Tools.run(
          openssl,
          "verify",
          "-CAfile",
          dir.resolve("bundle.pem").toString(),
          dir.resolve("svid.pem").toString());
      assertThat(r.exit()).as(r.output()).isZero();
      assertThat(r.output()).contains("OK");
      X509Certificate leaf =
          Pem.certificates(Files.readString(dir.resolve("svid.pem"))).get(0);
      assertThat(leaf.getSubjectAlternativeNames().toString())
          .contains(id.current().spiffeId().toString());
      assertThat(mode(dir, "svid.key")).isEqualTo("rw-------");
      assertThat(mode(dir, "svid.pem")).isEqualTo("rw-r--r--");
    }
  }

  @Test
  @SuppressWarnings("try") // the identity is held running while its output files are read
  void kubeconfigParsesWithKubectlAndItsCertificateNamesTheRolesUserAndGroups() throws Exception {
    String kubectl = Tools.require("kubectl", "kubernetes-client");
    String openssl = Tools.require("openssl", "openssl");
    Path ca = tmp.resolve("apiserver-ca.crt");
    Files.writeString(ca, Pem.encode(ISSUER.issuer().authorityCertificate()));
    Path dir = tmp.resolve("kube");
    Output out = output(
        "kubernetes",
        Map.of(
            "type",
            "kubernetes",
            "roles",
            List.of("out-k8s"),
            "kubernetes_cluster",
            "prod",
            "server",
            "https://k8s.internal:6443",
            "certificate_authority",
            ca.toString(),
            "kubernetes_user",
            "ci-bot",
            "kubernetes_groups",
            List.of("viewers", "deployers")),
        dir);
    try (MachineIdentity id = start(List.of("out-k8s"), out)) {
      Tools.Result view = Tools.run(
          kubectl,
          "config",
          "view",
          "--kubeconfig",
          dir.resolve("kubeconfig.yaml").toString(),
          "--raw",
          "-o",
          "jsonpath={.users[0].user.client-certificate-data}");
      assertThat(view.exit()).as(view.output()).isZero();
      Path cert = tmp.resolve("client.crt");
      Files.write(cert, Base64.getDecoder().decode(view.output().strip()));
      Tools.Result subject = Tools.run(
          openssl, "x509", "-noout", "-subject", "-nameopt", "RFC2253", "-in", cert.toString());
      assertThat(subject.exit()).as(subject.output()).isZero();
      assertThat(subject.output())
          .contains("CN=ci-bot")
          .contains("O=viewers")
          .contains("O=deployers");
      Tools.Result server = Tools.run(
          kubectl,
          "config",
          "view",
          "--kubeconfig",
          dir.resolve("kubeconfig.yaml").toString(),
          "--raw",
          "-o",
          "jsonpath={.clusters[0].cluster.server} {.current-context}");
      assertThat(server.output().strip()).isEqualTo("https://k8s.internal:6443 prod");
      assertThat(mode(dir, "kubeconfig.yaml")).isEqualTo("rw-------");
    }
  }

  @Test
  @SuppressWarnings("try") // the identity is held running while its output files are read
  void databaseOutputWritesPemPkcs8DerAndPkcs12AndTheServerAuthority() throws Exception {
    Path dir = tmp.resolve("db");
    Output out = output(
        "database", Map.of("type", "database", "roles", List.of("out-db"), "username", "app"), dir);
    try (MachineIdentity id = start(List.of("out-db"), out)) {
      X509Certificate leaf =
          Pem.certificates(Files.readString(dir.resolve("tls.crt"))).get(0);
      assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=app");
      PrivateKey der = KeyFactory.getInstance("EC")
          .generatePrivate(new PKCS8EncodedKeySpec(Files.readAllBytes(dir.resolve("key.pk8"))));
      assertThat(matches(leaf, der)).isTrue();
      java.security.KeyStore p12 = java.security.KeyStore.getInstance("PKCS12");
      try (var in = Files.newInputStream(dir.resolve("tls.p12"))) {
        p12.load(in, new char[0]);
      }
      assertThat(((X509Certificate) p12.getCertificate("tls")).getSerialNumber())
          .isEqualTo(leaf.getSerialNumber());
      assertThat(Files.readString(dir.resolve("tls.cas")).strip())
          .isEqualTo(
              ISSUER.issuer().authority().databaseServerAuthorities().get(0).strip());
      for (String key : List.of("tls.key", "key.pk8", "tls.p12")) {
        assertThat(mode(dir, key)).as(key).isEqualTo("rw-------");
      }
    }
  }

  @Test
  void everyNewCredentialRewritesItsOutputAndAReaderNeverSeesATornOrMismatchedPair()
      throws Exception {
    Path db = tmp.resolve("db");
    Path svid = tmp.resolve("svid");
    Path jwt = tmp.resolve("jwt");
    List<Output> outputs = List.of(
        output(
            "database",
            Map.of("type", "database", "roles", List.of("out-db"), "username", "app"),
            db),
        output("spiffe-x509", Map.of("type", "spiffe-x509"), svid),
        output(
            "spiffe-jwt",
            Map.of(
                "type", "spiffe-jwt", "roles", List.of("out-jwt"), "audiences", List.of("billing")),
            jwt));
    try (MachineIdentity id = start(List.of("out-db", "out-jwt"), outputs.toArray(Output[]::new))) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger reads = new AtomicInteger();
      AtomicReference<String> bad = new AtomicReference<>();
      Thread reader = new Thread(
          () -> {
            while (!stop.get() && bad.get() == null) {
              try {
                Path version = db.resolve(Files.readSymbolicLink(db.resolve("..data")));
                String certPem = Files.readString(version.resolve("tls.crt"));
                byte[] keyDer = Files.readAllBytes(version.resolve("key.pk8"));
                X509Certificate cert = Pem.certificates(certPem).get(0);
                PrivateKey key =
                    KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(keyDer));
                if (!matches(cert, key)) {
                  bad.set("mismatched pair in " + version);
                }
                reads.incrementAndGet();
              } catch (NoSuchFileException e) {
                // the version this reader resolved was retired two swaps later: resolve again
              } catch (Exception e) {
                bad.set("torn read: " + e);
              }
            }
          },
          "machineid-test-reader");
      reader.start();
      List<Path> dirs = List.of(db, svid, jwt);
      List<String> files = List.of("tls.crt", "svid.pem", "jwt_svid");
      for (int i = 0; i < 20; i++) {
        List<String> before = new ArrayList<>();
        for (int k = 0; k < dirs.size(); k++) {
          before.add(Files.readString(dirs.get(k).resolve(files.get(k))));
        }
        // each credential is renewed on its own schedule (a bot renewal does not issue it again):
        // refresh them now
        for (Output o : outputs) {
          CredentialHandle.lookup(((CredentialOutput) o).request().orElseThrow().name())
              .orElseThrow()
              .refreshNow()
              .join();
        }
        for (int k = 0; k < dirs.size(); k++) {
          Path f = dirs.get(k).resolve(files.get(k));
          String was = before.get(k);
          await("renewal " + i + " rewrites " + f)
              .atMost(Duration.ofSeconds(20))
              .until(() -> !Files.readString(f).equals(was));
        }
      }
      stop.set(true);
      reader.join(10_000);
      assertThat(id.health().isServing()).isTrue();
      assertThat(bad.get()).isNull();
      assertThat(reads.get()).isGreaterThan(20);
    }
  }

  @Test
  void badOutputSettingsNameTheKey() {
    Path dir = tmp.resolve("x");
    assertThatThrownBy(
            () -> output("database", Map.of("type", "database", "roles", List.of("out-db")), dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("database_user");
    assertThatThrownBy(() -> output(
            "ssh_host",
            Map.of("type", "ssh_host", "roles", List.of("r"), "hostnames", List.of("a")),
            dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("hostnames: unknown key; did you mean 'host_names'?");
    assertThatThrownBy(() -> output(
            "kubernetes",
            Map.of("type", "kubernetes", "roles", List.of("r"), "server", "https://k:6443"),
            dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("certificate_authority");
  }

  static boolean matches(X509Certificate cert, PrivateKey key) throws Exception {
    byte[] data = "machine-id".getBytes(StandardCharsets.US_ASCII);
    Signature s = Signature.getInstance("SHA256withECDSA");
    s.initSign(key);
    s.update(data);
    byte[] sig = s.sign();
    Signature v = Signature.getInstance("SHA256withECDSA");
    v.initVerify(cert.getPublicKey());
    v.update(data);
    return v.verify(sig);
  }

  static String mode(Path dir, String name) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(name)));
  }

  static String linkMode(Path p) throws Exception {
    return PosixFilePermissions.toString(
        Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
  }
}
