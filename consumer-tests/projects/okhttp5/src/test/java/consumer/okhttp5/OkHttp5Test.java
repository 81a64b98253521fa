package consumer.okhttp5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.machineid.core.MachineIdentity;
import dev.machineid.okhttp.OkHttpTls;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.MtlsServer;
import dev.machineid.testkit.issuer.TestBot;
import dev.machineid.testkit.TestCertificateAuthority;
import java.time.Duration;
import java.util.List;
import okhttp3.OkHttp;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class OkHttp5Test {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void theSdkJoinsAndItsOkHttpHelperPresentsTheBotCertificateOnOkHttp5(TestBot bot) throws Exception {
    assertTrue(OkHttp.VERSION.startsWith("5."), "OkHttp " + OkHttp.VERSION + " on the class path");
    try (TestCertificateAuthority ca = TestCertificateAuthority.create("okhttp5 api");
        MtlsServer api = MtlsServer.builder()
            .serverCertificate(ca.issueServerCertificate(List.of("127.0.0.1")))
            .trustedClientCAs(() -> List.of(ISSUER.issuer().authorityCertificate()))
            .start();
        MachineIdentity id = MachineIdentity.builder()
        // the testkit's builder allows 20 s; a CI machine shared by many builds may need longer for the first join
        .issuer(bot.issuer()).caPin(bot.caPin()).token(bot.token()).startTimeout(Duration.ofMinutes(2)).build()) {
      id.start();
      OkHttpClient http = OkHttpTls.configure(new OkHttpClient.Builder(), id, ca.trustManager()).build();
      try (Response response = http.newCall(new Request.Builder().url(api.url().toString()).build()).execute()) {
        assertEquals(200, response.code());
        assertTrue(response.body().string().contains("CN="), "the API saw a client certificate");
      } finally {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
      }
      assertEquals(1, api.seenSerials().size());
    }
  }
}
