package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.ProtocolClient;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** docs/architecture.md §11, invariant 11. */
class SecretsTest {
  @Test
  void nothingSecretIsLogged() {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    String token;
    String consumed;
    KeyPair keys = ProtocolClient.ec();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try (Issuer issuer = Issuer.builder().build().start()) {
      issuer.bots().create("web");
      token = issuer.tokens().create("web", Duration.ofMinutes(1));
      consumed = issuer.tokens().create("web", Duration.ofMinutes(1));
      ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
      assertThat(client.join(consumed, keys, null).status()).isEqualTo(200);
      assertThat(client.join(consumed, ProtocolClient.ec(), null).code())
          .isEqualTo("token_consumed");
      assertThat(client.join("wrong-" + token, ProtocolClient.ec(), null).code())
          .isEqualTo("proof_rejected");
      client.post("/v1/join", "{\"join_method\":\"token\",\"token\":\"" + token + "\"}");
      issuer.locks().create(Lock.bot("web", "test"));
      assertThat(client.join(token, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");
    } finally {
      System.setErr(original);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    assertThat(log).contains("join refused");
    assertThat(log).doesNotContain(token).doesNotContain(consumed);
    assertThat(log)
        .doesNotContain(
            Pem.encode(keys.getPrivate()).lines().skip(1).findFirst().orElseThrow());
    assertThat(log).doesNotContain("PRIVATE KEY");
  }
}
