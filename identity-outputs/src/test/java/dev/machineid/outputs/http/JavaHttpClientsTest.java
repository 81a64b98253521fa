package dev.machineid.outputs.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.MachineIdentity;
import dev.machineid.testkit.MtlsServer;
import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class JavaHttpClientsTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final ObjectMapper JSON = new ObjectMapper();

  private MachineIdentity identity;
  private TestCertificateAuthority serverCa;
  private MtlsServer server;

  @BeforeEach
  void start(TestBot bot) {
    identity = bot.identityBuilder().build();
    identity.start();
    serverCa = TestCertificateAuthority.create("server CA");
    server = MtlsServer.builder()
        .serverCertificate(serverCa.issueServerCertificate(List.of("127.0.0.1")))
        .trustedClientCAs(() -> identity.current().trustBundle())
        .start();
  }

  @AfterEach
  void stop() {
    server.close();
    serverCa.close();
    identity.close();
  }

  @Test
  void aClientWithAServerTrustPresentsTheBotCertificate() throws Exception {
    HttpClient http = JavaHttpClients.builder(identity, serverCa.trustManager()).build();

    HttpResponse<String> first = get(http);
    HttpResponse<String> second = get(http);

    String serial = identity.current().serialHex();
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(second.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(first.body()).path("serial").asText()).isEqualTo(serial);
    assertThat(server.seenSerials()).containsOnlyKeys(serial);
  }

  @Test
  void aNewConnectionAfterRenewalPresentsTheNewCertificateRatherThanResumingTheOldSession()
      throws Exception {
    HttpClient.Builder builder = JavaHttpClients.builder(identity, serverCa.trustManager());
    get(builder.build());
    String before = identity.current().serialHex();

    String after = identity.renewNow().get(20, TimeUnit.SECONDS).serialHex();
    HttpResponse<String> response =
        get(builder.build()); // a new client: a new connection, same SSLContext

    assertThat(JSON.readTree(response.body()).path("serial").asText())
        .isEqualTo(after)
        .isNotEqualTo(before);
    assertThat(server.seenSerials()).containsOnlyKeys(before, after);
  }

  @Test
  void theIdentityOnlyBuilderTrustsTheIssuerSoItRejectsAServerFromAnotherCa() {
    HttpClient http = JavaHttpClients.builder(identity).build();

    assertThatThrownBy(() -> get(http)).isInstanceOf(SSLHandshakeException.class);
    assertThat(server.seenSerials()).isEmpty();
  }

  private HttpResponse<String> get(HttpClient http) throws IOException, InterruptedException {
    return http.send(
        HttpRequest.newBuilder(server.url().resolve("/whoami")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
