package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.ErrorCode;
import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IssuerException;
import dev.machineid.core.JoinException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.output.IdentityOutput;
import dev.machineid.core.output.MemoryDestination;
import dev.machineid.core.output.OutputStatus;
import dev.machineid.core.storage.Storage;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Lock;
import dev.machineid.testkit.ManualScheduler;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Security invariant 17 (client half): a valid stored identity serves while the issuer is unreachable. */
class StaticStabilityTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @TempDir
  Path state;

  private static RenewalPolicy fastRetries() {
    return RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(100))
        .retryMaxDelay(Duration.ofMillis(300))
        .refusalRetryDelay(Duration.ofMillis(300))
        .build();
  }

  @Test
  void aValidStoredIdentityServesWhileTheIssuerIsUnreachable(TestBot bot) {
    startServesAStoredIdentityWhileTheIssuerIsDown(bot);
  }

  @Test
  void startServesAStoredIdentityWhileTheIssuerIsDown(TestBot bot) {
    Identity joined;
    try (MachineIdentity first =
        bot.identityBuilder().storage(Storage.directory(state)).build()) {
      joined = first.start();
    }
    Issuer issuer = ISSUER.issuer();
    MemoryDestination out = new MemoryDestination();
    try (MachineIdentity id = bot.identityBuilder()
        .storage(Storage.directory(state))
        .renewalPolicy(fastRetries())
        .output(new IdentityOutput(out))
        .build()) {
      issuer.stop();
      try {
        Identity served = id.start();

        assertThat(served.serialNumber()).isEqualTo(joined.serialNumber());
        assertThat(served.trustBundle()).isEqualTo(joined.trustBundle());
        assertThat(id.keyManager().chooseClientAlias(new String[] {"EC"}, null, null))
            .isNotNull();
        assertThat(id.outputStatus())
            .extracting(OutputStatus::state)
            .containsExactly(OutputStatus.State.OK);
        assertThat(out.read()).containsKey("tlscert");
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> id.health().state() == Health.State.DEGRADED);
        assertThat(id.health().lastError()).contains("cannot reach the issuer");
      } finally {
        issuer.start();
      }
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> id.health().state() == Health.State.HEALTHY);
      Identity renewed = id.renewNow().join();
      assertThat(renewed.generation()).isGreaterThan(joined.generation());
      assertThat(renewed.instanceId()).isEqualTo(joined.instanceId());
    }
  }

  @Test
  void aLiftedLockRecoversAtTheNextAttempt(TestBot bot) throws Exception {
    MutableClock clock = MutableClock.systemUtc();
    Issuer issuer = ISSUER.issuer();
    try (ManualScheduler scheduler = ManualScheduler.on(clock);
        MachineIdentity id = bot.identityBuilder()
            .executor(scheduler)
            .renewalPolicy(RenewalPolicy.builder()
                .retryBaseDelay(Duration.ofSeconds(1))
                .retryMaxDelay(Duration.ofSeconds(30))
                .refusalRetryDelay(Duration.ofMinutes(2))
                .build())
            .build()) {
      Identity joined = id.start();
      Lock lock = issuer
          .locks()
          .create(new Lock(
              UUID.randomUUID().toString(),
              Lock.Target.BOT,
              bot.name(),
              "test",
              Instant.now(),
              null));
      assertThatThrownBy(() -> id.renewNow().join())
          .isInstanceOf(CompletionException.class)
          .hasCauseInstanceOf(IssuerException.class);
      assertThat(id.health().state()).isEqualTo(Health.State.DEGRADED);
      assertThat(id.health().lastError()).contains(ErrorCode.BOT_LOCKED.code());

      issuer.locks().remove(lock.id());
      // the next attempt comes within the refusal ceiling, and succeeds
      scheduler.advance(Duration.ofMinutes(2));
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> id.health().state() == Health.State.HEALTHY);
      assertThat(id.current().instanceId()).isEqualTo(joined.instanceId());
      assertThat(id.current().generation()).isEqualTo(2);
    }
  }

  @Test
  void anExpiredCertificateSaysANewTokenIsNeeded(TestBot bot) {
    MutableClock clock = MutableClock.systemUtc();
    try (MachineIdentity id =
        bot.identityBuilder().clock(clock).credentialTtl(Duration.ofMinutes(5)).build()) {
      Identity joined = id.start();
      int eventsBefore = ISSUER.issuer().audit().events().size();
      clock.advance(Duration.ofMinutes(10));
      assertThat(id.health().state()).isEqualTo(Health.State.EXPIRED);

      assertThatThrownBy(() -> id.renewNow().join())
          .hasCauseInstanceOf(JoinException.class)
          .cause()
          .hasMessageContaining("a new join token is needed")
          .hasMessageContaining(bot.name());

      assertThat(id.health().lastError())
          .contains("a new join token is needed")
          .doesNotContain(ErrorCode.TOKEN_CONSUMED.code());
      // the spent token was not presented again
      List<AuditEvent> events = ISSUER.issuer().audit().events();
      assertThat(events.subList(eventsBefore, events.size()))
          .noneMatch(e -> e.type().startsWith("join"));
      assertThat(id.health().nextRenewal()).isNull();
      assertThat(id.current()).isSameAs(joined);
    }
  }
}
