package dev.machineid.it.credentials;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.Credential;
import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.testkit.FakeIssuer;
import dev.machineid.testkit.ManualScheduler;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.TestCertificateAuthority;
import java.time.Duration;
import java.time.Instant;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A role-scoped handle is kept fresh by the same refresher as the bot identity, on the scheduler and
 * clock the identity was built with: refreshed inside its renewal window, retried with the
 * identity's capped backoff while the issuer is down, served meanwhile, and refreshed once it is
 * back. The manual scheduler moves the clock, so an hour of schedule takes moments.
 */
class CredentialRefreshScheduleTest {
  @Test
  void aRoleScopedHandleIsRefreshedInItsWindowAndRetriedWithTheIdentitysBackoff() throws Exception {
    MutableClock clock = MutableClock.systemUtc();
    RenewalPolicy policy = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofSeconds(1))
        .retryMaxDelay(Duration.ofSeconds(30))
        .build();
    try (ManualScheduler scheduler = ManualScheduler.on(clock);
        FakeIssuer issuer = FakeIssuer.builder()
            .authority(TestCertificateAuthority.create("issuer", clock))
            .clock(clock)
            .start();
        MachineIdentity id = issuer
            .identityBuilder()
            .clock(clock)
            .executor(scheduler)
            .random(new Random(5))
            .credentialTtl(Duration.ofHours(1))
            .renewalPolicy(policy)
            .build()) {
      id.start();
      try (CredentialHandle handle =
          id.credentials(CredentialRequest.builder(CredentialKind.APPLICATION)
              .name("refreshed-by-the-refresher")
              .ttl(Duration.ofMinutes(30))
              .build())) {
        Credential first = handle.current();
        Instant issued = clock.instant();
        assertThat(issuer.issuances("application")).hasSize(1);

        // not before a third of its 30 minutes
        scheduler.advance(Duration.ofMinutes(10).minusSeconds(5));
        assertThat(handle.current()).isSameAs(first);
        // and no later than half of them
        scheduler.advance(Duration.ofMinutes(5).plusSeconds(10));
        Credential second = handle.current();
        assertThat(second).isNotSameAs(first);
        assertThat(issuer.issuances("application")).hasSize(2);
        Duration after =
            Duration.between(issued, issuer.issuances("application").get(1).at());
        assertThat(after)
            .isBetween(
                Duration.ofMinutes(10).minusSeconds(1), Duration.ofMinutes(15).plusSeconds(6));

        // the issuer goes down past the next window: the handle keeps its credential and backs off
        issuer.outage(true);
        scheduler.advance(Duration.ofMinutes(16));
        assertThat(handle.current()).isSameAs(second);
        assertThat(handle.lastError()).isPresent();
        int before = issuer.calls("/v1/certificates");
        Instant windowStart = clock.instant();
        scheduler.advance(Duration.ofMinutes(2));
        Duration window = Duration.between(windowStart, clock.instant());
        int inWindow = issuer.calls("/v1/certificates") - before;
        // capped at 30 s: it keeps trying; floored at 1 s: never more than once a second
        assertThat(inWindow).isBetween(3, (int) window.toSeconds() + 1);
        assertThat(handle.current()).isSameAs(second);

        // back: the next retry, at most the cap later, refreshes it
        issuer.outage(false);
        scheduler.advance(Duration.ofSeconds(31));
        assertThat(handle.lastError()).isEmpty();
        assertThat(handle.current()).isNotSameAs(second);
      }
    }
  }
}
