package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.storage.Storage;
import dev.machineid.testkit.FaultyProxy;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A token bot with directory storage survives restarts, including one in the middle of a renewal. */
class RestartTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void restoredIdentityIsRenewedOnSchedule(TestBot bot, @TempDir Path state) {
    Identity joined;
    try (MachineIdentity id = bot.identityBuilder()
        .storage(Storage.directory(state))
        .credentialTtl(Duration.ofSeconds(6))
        .build()) {
      joined = id.start();
    }
    try (MachineIdentity id = bot.identityBuilder()
        .storage(Storage.directory(state))
        .credentialTtl(Duration.ofSeconds(6))
        .build()) {
      assertThat(id.start().serialNumber()).isEqualTo(joined.serialNumber());
      // nobody calls renewNow(): the restored identity must be on the renewal schedule
      await().atMost(Duration.ofSeconds(8)).until(() -> id.current().generation() >= 2);
      assertThat(id.current().instanceId()).isEqualTo(joined.instanceId());
      assertThat(id.health().state()).isEqualTo(Health.State.HEALTHY);
    }
  }

  @Test
  void restartDuringARenewalRetriesWithTheStoredKeyInsteadOfLockingTheInstance(
      TestBot bot, @TempDir Path state) throws Exception {
    URI issuer = ISSUER.issuer().url();
    RenewalPolicy slowRetries = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMinutes(5))
        .retryMaxDelay(Duration.ofMinutes(5))
        .build();
    Identity first;
    try (FaultyProxy proxy = FaultyProxy.start(issuer.getHost(), issuer.getPort())) {
      MachineIdentity.Builder viaProxy = MachineIdentity.builder()
          .issuer(URI.create("https://127.0.0.1:" + proxy.port()))
          .caPin(bot.caPin())
          .token(bot.token())
          .storage(Storage.directory(state))
          .credentialTtl(Duration.ofMinutes(10))
          .renewalPolicy(slowRetries);
      try (MachineIdentity id = viaProxy.build()) {
        first = id.start();
        // the heartbeat that follows the join is done, so the next request is the renewal (the
        // client pools connections per certificate: the drop applies to an open one too)
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> ISSUER
                    .issuer()
                    .instances()
                    .find(first.instanceId())
                    .orElseThrow()
                    .latestHeartbeat()
                != null);
        // the issuer applies the renewal, the answer is lost, and the process "dies" before
        // retrying
        proxy.dropNextAnswer();
        assertThatThrownBy(() -> id.renewNow().get()).isInstanceOf(ExecutionException.class);
        assertThat(proxy.droppedAnswerCount()).isEqualTo(1);
        // the proxy cuts the client off as the answer starts; the issuer finishes its side just
        // after
        await()
            .atMost(Duration.ofSeconds(5))
            .until(() -> ISSUER
                    .issuer()
                    .instances()
                    .find(first.instanceId())
                    .orElseThrow()
                    .generation()
                == 2);
      }
    }
    // the restarted process still holds generation 1, but also the key it sent
    try (MachineIdentity id = bot.identityBuilder()
        .storage(Storage.directory(state))
        .credentialTtl(Duration.ofMinutes(10))
        .build()) {
      assertThat(id.start().generation()).isEqualTo(1);
      Identity renewed = id.renewNow().get();
      assertThat(renewed.generation()).isEqualTo(2);
      assertThat(renewed.instanceId()).isEqualTo(first.instanceId());
      assertThat(
              ISSUER.issuer().instances().find(first.instanceId()).orElseThrow().locked())
          .isFalse();
      assertThat(id.renewNow().get().generation()).isEqualTo(3);
    }
  }
}
