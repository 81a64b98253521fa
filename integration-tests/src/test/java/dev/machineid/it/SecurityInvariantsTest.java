package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.interfaces.ECPrivateKey;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md §11, the invariants that span the SDK and the issuer. */
class SecurityInvariantsTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  /**
   * §11.1: everything the SDK sends to the issuer during a join is recorded by a TLS-terminating
   * relay (the SDK runs in insecure mode to let the relay in); no byte of the private key is in it.
   */
  @Test
  void privateKeysNeverLeaveTheProcess(TestBot bot) throws Exception {
    List<String> sent = new CopyOnWriteArrayList<>();
    HttpClient upstream = HttpClient.newBuilder()
        .sslContext(trusting(ISSUER.issuer().authorityCertificate()))
        .build();
    TestCertificateAuthority relayCa = TestCertificateAuthority.create("relay");
    HttpsServer relay = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    relay.setHttpsConfigurator(new HttpsConfigurator(
        relayCa.sslContext(relayCa.issueServerCertificate(List.of("127.0.0.1")))));
    relay.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      sent.add(exchange.getRequestURI() + " " + new String(body, StandardCharsets.UTF_8));
      try {
        HttpRequest.Builder rb =
            HttpRequest.newBuilder(ISSUER.issuer().url().resolve(exchange.getRequestURI()));
        rb = "GET".equals(exchange.getRequestMethod())
            ? rb.GET()
            : rb.header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        HttpResponse<byte[]> r = upstream.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
        exchange
            .getResponseHeaders()
            .add("Content-Type", r.headers().firstValue("Content-Type").orElse("application/json"));
        exchange.sendResponseHeaders(r.statusCode(), r.body().length == 0 ? -1 : r.body().length);
        exchange.getResponseBody().write(r.body());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exchange.sendResponseHeaders(502, -1);
      } finally {
        exchange.close();
      }
    });
    relay.start();
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(URI.create("https://127.0.0.1:" + relay.getAddress().getPort()))
        .insecure(true)
        .token(bot.token())
        .build()) {
      Identity identity = id.start();
      assertThat(sent).anyMatch(s -> s.startsWith("/v1/join "));
      ECPrivateKey key = (ECPrivateKey) identity.privateKey();
      String pkcs8 = Base64.getEncoder().encodeToString(key.getEncoded());
      String scalarHex = HexFormat.of().formatHex(key.getS().toByteArray());
      String scalarB64 = Base64.getEncoder().encodeToString(key.getS().toByteArray());
      for (String request : sent) {
        assertThat(request)
            .doesNotContain("PRIVATE KEY")
            .doesNotContain(pkcs8.substring(0, 40))
            .doesNotContainIgnoringCase(scalarHex)
            .doesNotContain(scalarB64);
      }
      // what was sent for the key is its public half
      assertThat(sent)
          .anyMatch(s ->
              s.contains(Pem.encode(identity.certificate().getPublicKey()).replace("\n", "\\n")));
    } finally {
      relay.stop(0);
    }
  }

  /** §11.11: a whole join and renewal at DEBUG-free default levels never prints the token or the key. */
  @Test
  void nothingSecretIsLogged(TestBot bot) throws Exception {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    Identity identity;
    try (MachineIdentity id = bot.identityBuilder().build()) {
      identity = id.start();
      id.renewNow().get();
    } finally {
      System.setErr(original);
    }
    String logs = captured.toString(StandardCharsets.UTF_8);
    original.print(logs);
    assertThat(logs).contains("identity issued").contains(bot.name());
    assertThat(logs).doesNotContain(bot.token());
    assertThat(logs).doesNotContain("PRIVATE KEY");
    assertThat(logs)
        .doesNotContain(Base64.getEncoder()
            .encodeToString(identity.privateKey().getEncoded())
            .substring(0, 40));
  }

  /** §11.2: the default lifetime is one hour, and more than 24 hours is refused. */
  @Test
  void botCredentialsAreShortLived(TestBot bot) {
    try (MachineIdentity id = bot.identityBuilder().build()) {
      Identity identity = id.start();
      Duration life = Duration.between(identity.notBefore().plusSeconds(60), identity.notAfter());
      assertThat(life).isBetween(Duration.ofMinutes(59), Duration.ofMinutes(61));
    }
    assertThatThrownBy(() -> bot.identityBuilder().credentialTtl(Duration.ofHours(25)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static SSLContext trusting(java.security.cert.X509Certificate ca) throws Exception {
    KeyStore ts = KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    ts.setCertificateEntry("ca", ca);
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ts);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, tmf.getTrustManagers(), null);
    return ctx;
  }
}
