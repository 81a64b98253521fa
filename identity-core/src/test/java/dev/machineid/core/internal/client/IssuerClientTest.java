package dev.machineid.core.internal.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import dev.machineid.core.CaPin;
import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.IssuerException;
import dev.machineid.core.internal.tls.KeySnapshot;
import dev.machineid.core.internal.tls.RotatingKeyManager;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The issuer client against a real HTTPS server (the JDK's), pinned to a test CA. */
class IssuerClientTest {
  private static final AtomicInteger SERIAL = new AtomicInteger(1);
  private static final KeyPair CA_KEY = keyPair();
  private static final X509Certificate CA =
      certificate(CA_KEY, "CN=test issuer CA", CA_KEY, "CN=test issuer CA", true, null);

  private final List<HttpsServer> servers = new CopyOnWriteArrayList<>();
  private final AtomicReference<KeySnapshot> clientKey = new AtomicReference<>();
  private final RotatingKeyManager keys = new RotatingKeyManager(clientKey::get, Clock.systemUTC());
  private final PinningTrustManager trust =
      new PinningTrustManager(List.of(CaPin.of(CA)), List.of(), false, Clock.systemUTC());
  /** Per exchange: the client's port (one per connection) and the client certificate it presented. */
  private final List<String> seen = new CopyOnWriteArrayList<>();

  @AfterEach
  void stopServers() {
    servers.forEach(s -> s.stop(0));
  }

  @Test
  void oneHttpClientServesEveryCallOfOneTrustSnapshotOverOnePooledConnection() throws Exception {
    URI issuer = serve(serverCertificate("localhost", "127.0.0.1"), authorityAnswer());
    clientKey.set(clientSnapshot("CN=bot-a"));
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      HttpClient first = client.httpClient();
      client.authority();
      client.authority();
      assertThat(client.httpClient()).isSameAs(first);
      assertThat(seen).hasSize(2);
      assertThat(port(seen.get(1)))
          .as("the second call reuses the first call's connection")
          .isEqualTo(port(seen.get(0)));
    }
  }

  @Test
  void aNewClientCertificateGetsANewHttpClientAndANewConnectionThatPresentsIt() throws Exception {
    URI issuer = serve(serverCertificate("localhost", "127.0.0.1"), authorityAnswer());
    clientKey.set(clientSnapshot("CN=bot-a"));
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      client.authority();
      HttpClient before = client.httpClient();
      clientKey.set(clientSnapshot("CN=bot-b"));
      client.authority();
      assertThat(client.httpClient()).isNotSameAs(before);
      assertThat(subject(seen.get(0))).isEqualTo("CN=bot-a");
      assertThat(subject(seen.get(1))).isEqualTo("CN=bot-b");
      assertThat(port(seen.get(1))).isNotEqualTo(port(seen.get(0)));
    }
  }

  @Test
  void aChangedTrustBundleGetsANewHttpClient() throws Exception {
    URI issuer = serve(serverCertificate("localhost", "127.0.0.1"), authorityAnswer());
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      IssuerClient.AuthorityView view = client.authority();
      HttpClient before = client.httpClient();
      assertThat(client.httpClient()).isSameAs(before);
      trust.trust(view.x509Authorities());
      HttpClient after = client.httpClient();
      assertThat(after).isNotSameAs(before);
      client.authority();
      assertThat(client.httpClient()).isSameAs(after);
      assertThat(port(seen.get(1))).isNotEqualTo(port(seen.get(0)));
    }
  }

  @Test
  void anIssuerCertificateThatDoesNotNameTheHostIsRefusedBeforeAnyRequestIsSent() throws Exception {
    URI issuer = serve(serverCertificate("issuer.elsewhere.example", null), authorityAnswer());
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      assertThatThrownBy(client::authority)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining("presented a certificate that does not name host '127.0.0.1'");
      assertThat(seen).isEmpty();
    }
  }

  @Test
  void aWildcardCertificateNamesOneLabelOnly() throws Exception {
    X509Certificate wildcard = serverCertificate("*.example.test", null).leaf();
    assertThat(HostNames.names(wildcard, "issuer.example.test")).isTrue();
    assertThat(HostNames.names(wildcard, "a.issuer.example.test")).isFalse();
    assertThat(HostNames.names(wildcard, "example.test")).isFalse();
    assertThat(HostNames.names(serverCertificate("*.com", null).leaf(), "example.com"))
        .isFalse();
    assertThat(
            HostNames.names(serverCertificate("Issuer.Example", "::1").leaf(), "issuer.example."))
        .isTrue();
    assertThat(
            HostNames.names(serverCertificate("Issuer.Example", "::1").leaf(), "[0:0:0:0:0:0:0:1]"))
        .isTrue();
  }

  @Test
  void aServerThatDoesNotChainToThePinIsAConfigurationError() throws Exception {
    KeyPair otherCa = keyPair();
    KeyPair leafKey = keyPair();
    X509Certificate leaf = certificate(
        otherCa, "CN=another CA", leafKey, "CN=impostor", false, "localhost", "127.0.0.1");
    X509Certificate otherRoot =
        certificate(otherCa, "CN=another CA", otherCa, "CN=another CA", true, null);
    URI issuer = serve(new ServerCert(leaf, leafKey, otherRoot), authorityAnswer());
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      assertThatThrownBy(client::authority)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("CA pin");
      assertThat(seen).isEmpty();
    }
  }

  @Test
  void aProblemDocumentBecomesAnIssuerExceptionWithItsCodeAndStatus() throws Exception {
    byte[] problem =
        "{\"type\":\"about:blank\",\"title\":\"Too many requests\",\"status\":503,\"code\":\"rate_limited\",\"detail\":\"slow down\"}"
            .getBytes(StandardCharsets.UTF_8);
    URI issuer = serve(
        serverCertificate("localhost", "127.0.0.1"),
        new Answer(503, Protocol.PROBLEM_JSON, problem, null));
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      assertThatThrownBy(client::authority)
          .isInstanceOfSatisfying(IssuerException.class, e -> {
            assertThat(e.code()).isEqualTo("rate_limited");
            assertThat(e.status()).isEqualTo(503);
          })
          .hasMessage("issuer refused GET /v1/authority: 503 rate_limited (slow down)");
    }
  }

  @Test
  void anAnswerLargerThanOneMebibyteIsRefused() throws Exception {
    byte[] huge = new byte[(1 << 20) + 10];
    java.util.Arrays.fill(huge, (byte) ' ');
    URI issuer = serve(
        serverCertificate("localhost", "127.0.0.1"), new Answer(200, Protocol.JSON, huge, null));
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofSeconds(10))) {
      assertThatThrownBy(client::authority)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining("exceeds 1048576 bytes");
    }
  }

  @Test
  void anIssuerThatDoesNotAnswerInTimeFailsTheCallAtTheRequestTimeout() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    URI issuer = serve(
        serverCertificate("localhost", "127.0.0.1"),
        new Answer(200, Protocol.JSON, new byte[0], release));
    try (IssuerClient client = new IssuerClient(issuer, trust, keys, Duration.ofMillis(700))) {
      assertThatThrownBy(client::authority)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining(
              "did not answer GET /v1/authority within the request timeout of 700ms");
    } finally {
      release.countDown();
    }
  }

  @Test
  void onlyHttpsAddressesAreAccepted() {
    assertThatThrownBy(() ->
            new IssuerClient(URI.create("http://localhost:1"), trust, keys, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aClosedClientRefusesCalls() throws Exception {
    IssuerClient client =
        new IssuerClient(URI.create("https://localhost:1"), trust, keys, Duration.ofSeconds(1));
    client.close();
    client.close();
    assertThatThrownBy(client::authority).isInstanceOf(IllegalStateException.class);
  }

  // --- fixtures

  private record ServerCert(X509Certificate leaf, KeyPair key, X509Certificate issuer) {}

  private record Answer(int status, String type, byte[] body, CountDownLatch holdUntil) {}

  private Answer authorityAnswer() throws Exception {
    Authority a = new Authority(
        "test.example", List.of(Pem.encode(CA)), null, null, null, null, null, null, null);
    return new Answer(200, Protocol.JSON, Protocol.writer().writeValueAsBytes(a), null);
  }

  private URI serve(ServerCert cert, Answer answer) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("server", cert.key().getPrivate(), new char[0], new X509Certificate[] {
      cert.leaf(), cert.issuer()
    });
    KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX");
    kmf.init(ks, new char[0]);
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), new TrustManager[] {new AnyClient()}, null);
    HttpsServer server =
        HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setHttpsConfigurator(new HttpsConfigurator(context) {
      @Override
      public void configure(HttpsParameters params) {
        params.setWantClientAuth(true);
      }
    });
    server.createContext("/", exchange -> {
      try {
        String subject = "-";
        try {
          subject = ((X509Certificate)
                  ((HttpsExchange) exchange).getSSLSession().getPeerCertificates()[0])
              .getSubjectX500Principal()
              .getName();
        } catch (javax.net.ssl.SSLPeerUnverifiedException none) {
          // no client certificate
        }
        seen.add(exchange.getRemoteAddress().getPort() + " " + subject);
        if (answer.holdUntil() != null) {
          answer.holdUntil().await(30, TimeUnit.SECONDS);
        }
        exchange.getResponseHeaders().set("Content-Type", answer.type());
        exchange.sendResponseHeaders(
            answer.status(), answer.body().length == 0 ? -1 : answer.body().length);
        if (answer.body().length > 0) {
          exchange.getResponseBody().write(answer.body());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (IOException ignored) {
        // the client went away
      } finally {
        exchange.close();
      }
    });
    server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
    server.start();
    servers.add(server);
    return URI.create("https://127.0.0.1:" + server.getAddress().getPort());
  }

  private static int port(String seen) {
    return Integer.parseInt(seen.substring(0, seen.indexOf(' ')));
  }

  private static String subject(String seen) {
    return seen.substring(seen.indexOf(' ') + 1);
  }

  private static ServerCert serverCertificate(String dns, String ip) {
    KeyPair kp = keyPair();
    return new ServerCert(
        certificate(CA_KEY, "CN=test issuer CA", kp, "CN=issuer", false, dns, ip), kp, CA);
  }

  private KeySnapshot clientSnapshot(String subject) {
    KeyPair kp = keyPair();
    return KeySnapshot.of(
        List.of(certificate(CA_KEY, "CN=test issuer CA", kp, subject, false, null)),
        kp.getPrivate());
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(256);
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509Certificate certificate(
      KeyPair signer,
      String issuer,
      KeyPair subject,
      String name,
      boolean ca,
      String dns,
      String... ips) {
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
          new X500Name(issuer),
          BigInteger.valueOf(SERIAL.incrementAndGet()).add(new BigInteger(64, new SecureRandom())),
          Date.from(Instant.now().minusSeconds(60)),
          Date.from(Instant.now().plusSeconds(3600)),
          new X500Name(name),
          subject.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (ca) {
        b.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        List<GeneralName> names = new java.util.ArrayList<>();
        if (dns != null) {
          names.add(new GeneralName(GeneralName.dNSName, dns));
        }
        for (String ip : ips) {
          if (ip != null) {
            names.add(new GeneralName(GeneralName.iPAddress, ip));
          }
        }
        if (!names.isEmpty()) {
          b.addExtension(
              Extension.subjectAlternativeName,
              false,
              new GeneralNames(names.toArray(new GeneralName[0])));
        }
        b.addExtension(
            Extension.extendedKeyUsage,
            false,
            new ExtendedKeyUsage(
                name.startsWith("CN=bot")
                    ? KeyPurposeId.id_kp_clientAuth
                    : KeyPurposeId.id_kp_serverAuth));
      }
      return new JcaX509CertificateConverter()
          .getCertificate(
              b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The test server takes any client certificate; it only records which one was presented. */
  private static final class AnyClient implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {
      throw new UnsupportedOperationException();
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
