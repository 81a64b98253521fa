package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Health;
import dev.machineid.core.output.OutputStatus;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class DaemonTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir
  Path tmp;

  @Test
  void theDaemonKeepsEveryOutputFreshAcrossRenewals(TestBot bot) throws Exception {
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Path config = AgentConfig.forBot(bot)
        .ttl("6s")
        .identityTo(a)
        .identityTo(b)
        .writeTo(tmp.resolve("agent.yaml"));

    try (Daemon daemon = new Daemon(config, null)) {
      daemon.start();
      Set<BigInteger> seen = new HashSet<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInterval(Duration.ofMillis(200))
          .until(() -> {
            X509Certificate ca = Pems.leaf(a.resolve("tlscert"));
            X509Certificate cb = Pems.leaf(b.resolve("tlscert"));
            if (ca != null && cb != null && ca.getSerialNumber().equals(cb.getSerialNumber())) {
              seen.add(ca.getSerialNumber());
            }
            return seen.size() >= 3;
          });
      // what is on disk is always a certificate that is still valid
      X509Certificate now = Pems.leaf(a.resolve("tlscert"));
      now.checkValidity();
      assertThat(daemon.identity().outputStatus()).allMatch(OutputStatus::ok);
    }
  }

  @Test
  void reloadRunsAValidNewConfigAndKeepsTheRunningOneWhenTheNewOneIsInvalid(TestBot bot)
      throws Exception {
    Path state = tmp.resolve("state");
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Path config = tmp.resolve("agent.yaml");
    AgentConfig.forBot(bot).storage(state).identityTo(a).writeTo(config);

    try (Daemon daemon = new Daemon(config, null)) {
      daemon.start();
      assertThat(a.resolve("tlscert")).isNotEmptyFile();
      assertThat(Files.exists(b)).isFalse();

      // a valid change: one more output; the identity is restored from storage, not joined again
      AgentConfig.forBot(bot).storage(state).identityTo(a).identityTo(b).writeTo(config);
      assertThat(daemon.reload()).isTrue();
      assertThat(b.resolve("tlscert")).isNotEmptyFile();
      assertThat(daemon.identity().outputStatus()).hasSize(2).allMatch(OutputStatus::ok);
      assertThat(daemon.identity().health().state()).isEqualTo(Health.State.HEALTHY);

      // an invalid change: refused, the running identity and its outputs stay
      var running = daemon.identity();
      Files.writeString(config, Files.readString(config) + "colour: blue\n");
      assertThat(daemon.reload()).isFalse();
      assertThat(daemon.identity()).isSameAs(running);
      assertThat(running.health().state()).isEqualTo(Health.State.HEALTHY);
      assertThat(running.renewNow().get().serialHex()).isNotBlank();
      assertThat(running.outputStatus()).hasSize(2).allMatch(OutputStatus::ok);
    }
  }
}
