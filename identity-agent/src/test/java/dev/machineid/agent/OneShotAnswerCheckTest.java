package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.FakeIssuer;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --oneshot} writes only a certificate the client verified. */
class OneShotAnswerCheckTest {
  @TempDir
  Path tmp;

  @Test
  void oneshotExitsNonZeroOnAnExpiredAnswer() throws Exception {
    try (FakeIssuer issuer = FakeIssuer.builder().bot("oneshot").start()) {
      issuer.answerNext(a ->
          a.notBefore(Instant.now().minusSeconds(7200)).notAfter(Instant.now().minusSeconds(3600)));
      TestBot bot = new TestBot(issuer.bot(), issuer.token(), issuer.url(), issuer.caPin());
      Path out = tmp.resolve("out");
      Path config = AgentConfig.forBot(bot)
          .storage(tmp.resolve("state"))
          .identityTo(out)
          .writeTo(tmp.resolve("agent.yaml"));

      Run run = Run.of("start", "-c", config.toString(), "--oneshot");

      assertThat(run.exitCode()).as(run.err()).isEqualTo(Agent.FAILED);
      assertThat(run.errLines()).hasSize(1);
      assertThat(run.errLines().get(0))
          .startsWith("machineid-agent: ")
          .contains("expired")
          .contains("new join token");
      assertThat(Files.exists(out.resolve("tlscert"))).isFalse();
      assertThat(Files.exists(tmp.resolve("state").resolve("identity.json"))).isFalse();
      assertThat(issuer.calls("/v1/join")).isEqualTo(1);
    }
  }
}
