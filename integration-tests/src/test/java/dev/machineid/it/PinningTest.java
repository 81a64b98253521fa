package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import dev.machineid.core.CaPin;
import dev.machineid.core.ConfigException;
import dev.machineid.core.IdentityException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md §11, invariant 10: first contact is pinned on the TLS connection, not on a document. */
class PinningTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void firstContactIsPinnedOnTheTlsConnection_wrongPinRefusesBeforeTheTokenIsSent(TestBot bot) {
    CaPin wrong = CaPin.of(TestCertificateAuthority.create("not the issuer").certificate());
    int auditBefore = ISSUER.issuer().audit().events().size();
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(bot.issuer())
        .caPin(wrong)
        .token(bot.token())
        .startTimeout(Duration.ofSeconds(3))
        .build()) {
      assertThatThrownBy(id::start)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining(wrong.toString());
    }
    // the token never reached the issuer: no join was attempted, and the same token still works
    List<AuditEvent> events = ISSUER.issuer().audit().events();
    assertThat(events.subList(auditBefore, events.size()))
        .noneMatch(e -> e.type().startsWith("join"));
    try (MachineIdentity id = bot.identityBuilder().build()) {
      assertThat(id.start().botName()).isEqualTo(bot.name());
    }
  }

  @Test
  void serverWithAnotherCasCertificateServingTheGenuineAuthorityIsRefused(TestBot bot)
      throws Exception {
    byte[] genuine = Protocol.writer().writeValueAsBytes(ISSUER.issuer().authority());
    AtomicInteger requests = new AtomicInteger();
    TestCertificateAuthority impostorCa = TestCertificateAuthority.create("impostor");
    HttpsServer impostor = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    impostor.setHttpsConfigurator(new HttpsConfigurator(impostorCa.sslContext(
        impostorCa.issueServerCertificate(List.of("127.0.0.1", "localhost")))));
    impostor.createContext("/", exchange -> {
      requests.incrementAndGet();
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(200, genuine.length);
      exchange.getResponseBody().write(genuine);
      exchange.close();
    });
    impostor.start();
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(URI.create("https://127.0.0.1:" + impostor.getAddress().getPort()))
        .caPin(bot.caPin())
        .token(bot.token())
        .startTimeout(Duration.ofSeconds(3))
        .build()) {
      assertThatThrownBy(id::start)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining(bot.caPin().toString());
      assertThat(requests)
          .as("no HTTP request crossed the refused TLS connection")
          .hasValue(0);
    } finally {
      impostor.stop(0);
    }
  }

  @Test
  void noPinAndNotInsecureIsAConfigException(TestBot bot) {
    assertThatThrownBy(() ->
            MachineIdentity.builder().issuer(bot.issuer()).token(bot.token()).build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("no CA pin");
  }

  @Test
  void caFileWorksInsteadOfAPin(
      TestBot bot, @org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
    java.nio.file.Path ca = tmp.resolve("ca.pem");
    java.nio.file.Files.writeString(
        ca,
        String.join("", ISSUER.issuer().authority().x509Authorities()),
        StandardCharsets.US_ASCII);
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(bot.issuer())
        .caFile(ca)
        .token(bot.token())
        .build()) {
      assertThat(id.start().botName()).isEqualTo(bot.name());
    }
  }
}
