package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Its own class: it stops the issuer that the extension shares across a class. */
class ReadinessTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @TempDir
  Path tmp;

  private HttpResponse<String> get(int port, String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(5))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readyzTurnsUnavailableWhileTheIssuerIsGoneAndReadyWhenItReturns(TestBot bot, Issuer issuer)
      throws Exception {
    Path out = tmp.resolve("out");
    // renewed every 2 s, valid 60 s: the outage degrades renewal long before anything expires
    Path config = AgentConfig.forBot(bot)
        .ttl("60s")
        .renewalInterval("2s")
        .identityTo(out)
        .identityToMemory()
        .writeTo(tmp.resolve("agent.yaml"));

    try (Daemon daemon = new Daemon(config, new InetSocketAddress("127.0.0.1", 0))) {
      daemon.start();
      int port = daemon.diagPort();

      assertThat(get(port, "/livez").statusCode()).isEqualTo(200);
      HttpResponse<String> ready = get(port, "/readyz");
      assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
      JsonNode body = JSON.readTree(ready.body());
      assertThat(body.path("status").asText()).isEqualTo("healthy");
      assertThat(body.path("identity").path("state").asText()).isEqualTo("healthy");
      assertThat(body.path("outputs").size()).isEqualTo(2);
      body.path("outputs").forEach(o -> {
        assertThat(o.path("status").asText()).isEqualTo("ok");
        assertThat(o.path("written_at").asText()).isNotBlank();
      });
      assertThat(body.path("outputs").fieldNames()).toIterable().anySatisfy(n -> assertThat(n)
          .contains(out.toString()));

      String metrics = get(port, "/metrics").body();
      assertThat(metrics)
          .contains("# TYPE machineid_certificate_remaining_lifetime_seconds gauge")
          .contains("machineid_renewal_attempts_total ")
          .contains("machineid_renewal_failures_total 0")
          .contains("machineid_renewal_consecutive_failures 0")
          .contains("machineid_clock_offset_seconds ")
          .contains("machineid_identity_state{state=\"healthy\"} 1");

      issuer.stop();
      try {
        await()
            .atMost(Duration.ofSeconds(20))
            .pollInterval(Duration.ofMillis(200))
            .until(() -> get(port, "/readyz").statusCode() == 503);
        JsonNode down = JSON.readTree(get(port, "/readyz").body());
        assertThat(down.path("status").asText()).isEqualTo("unhealthy");
        assertThat(down.path("identity").path("state").asText()).isEqualTo("degraded");
        assertThat(down.path("identity").path("error").asText()).isNotBlank();
        assertThat(get(port, "/livez").statusCode()).isEqualTo(200);
        assertThat(get(port, "/metrics").body())
            .doesNotContain("machineid_renewal_failures_total 0\n");
      } finally {
        issuer.start();
      }
      await()
          .atMost(Duration.ofSeconds(40))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> get(port, "/readyz").statusCode() == 200);
      assertThat(get(port, "/metrics").body()).contains("machineid_renewal_consecutive_failures 0");
    }
  }
}
