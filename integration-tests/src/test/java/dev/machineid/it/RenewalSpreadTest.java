package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.Health;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.testkit.FakeIssuer;
import dev.machineid.testkit.ManualScheduler;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.TestCertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Renewals spread over a window, so an outage does not leave a fleet in lockstep; role credentials are issued once per period. */
class RenewalSpreadTest {
  private static final Duration TTL = Duration.ofHours(1);

  @Test
  void aSharedOutageDoesNotLeaveTheFleetSynchronised() throws Exception {
    int fleet = 24;
    MutableClock clock = MutableClock.systemUtc();
    List<FakeIssuer> issuers = new ArrayList<>();
    List<MachineIdentity> ids = new ArrayList<>();
    try (ManualScheduler scheduler = ManualScheduler.on(clock)) {
      try {
        for (int i = 0; i < fleet; i++) {
          FakeIssuer issuer = FakeIssuer.builder()
              .authority(TestCertificateAuthority.create("fleet " + i, clock))
              .bot("bot-" + i)
              .clock(clock)
              .start();
          issuers.add(issuer);
          MachineIdentity id = issuer
              .identityBuilder()
              .clock(clock)
              .executor(scheduler)
              .random(new Random(i))
              .credentialTtl(TTL)
              .renewalPolicy(RenewalPolicy.builder()
                  .retryBaseDelay(Duration.ofSeconds(1))
                  .retryMaxDelay(Duration.ofMinutes(1))
                  .build())
              .build();
          ids.add(id);
          id.start();
        }
        // the shared outage: every issuer answers 503 for two hours' worth of renewals
        issuers.forEach(f -> f.outage(true));
        scheduler.advance(Duration.ofMinutes(40));
        assertThat(ids).allMatch(id -> id.health().state() == Health.State.DEGRADED);
        issuers.forEach(f -> f.outage(false));
        // recovery: every identity renews within its retry backoff
        scheduler.advance(Duration.ofMinutes(2));
        await().atMost(Duration.ofSeconds(20)).until(() -> ids.stream()
            .allMatch(id -> id.health().state() == Health.State.HEALTHY));

        List<Instant> next =
            ids.stream().map(id -> id.health().nextRenewal()).sorted().toList();
        Duration spread = Duration.between(next.get(0), next.get(next.size() - 1));
        // planned between a third and a half of the lifetime: spread over most of those 10 minutes,
        // not the 2 minutes of a tenth of a third
        assertThat(spread).isGreaterThan(Duration.ofMinutes(6));
        // and no minute carries half the fleet: in lockstep (a third of the lifetime minus at most
        // 10 %
        // jitter) all 24 fall within two minutes, so some minute holds at least 12; spread
        // uniformly
        // over ten minutes the busiest minute holds about 6, and its tail reaches 9 on some runs
        int busiest = 0;
        for (Instant t : next) {
          busiest = Math.max(busiest, (int) next.stream()
              .filter(u -> !u.isBefore(t) && u.isBefore(t.plusSeconds(60)))
              .count());
        }
        assertThat(busiest).isLessThan(fleet / 2);
      } finally {
        ids.forEach(MachineIdentity::close);
        issuers.forEach(FakeIssuer::close);
      }
    }
  }

  @Test
  void eachRoleCredentialIsIssuedOncePerPeriod(@TempDir Path tmp) throws Exception {
    MutableClock clock = MutableClock.systemUtc();
    try (ManualScheduler scheduler = ManualScheduler.on(clock);
        FakeIssuer issuer = FakeIssuer.builder()
            .authority(TestCertificateAuthority.create("issuer", clock))
            .clock(clock)
            .start()) {
      Path config = tmp.resolve("agent.yaml");
      Files.writeString(
          config,
          "version: v1\n"
              + "issuer: " + issuer.url() + "\n"
              + "onboarding:\n  join_method: token\n  token: " + issuer.token() + "\n  ca_pins: [\""
              + issuer.caPin() + "\"]\n"
              + "credential_ttl: 1h\n"
              + "outputs:\n"
              + "  - type: database\n    roles: [db]\n    database_user: app\n    destination: {type: memory}\n"
              + "  - type: application\n    destination: {type: memory}\n");
      try (MachineIdentity id = MachineIdentity.builderFromConfig(config)
          .clock(clock)
          .executor(scheduler)
          .random(new Random(7))
          .build()) {
        id.start();
        int renewals = 0;
        for (int minutes = 0; renewals < 5; minutes++) {
          assertThat(minutes).as("five renewals within 3 h").isLessThan(180);
          int before = issuer.calls("/v1/renew");
          scheduler.advance(Duration.ofMinutes(1));
          renewals += issuer.calls("/v1/renew") - before;
        }
        scheduler.advance(Duration.ofSeconds(5));
        for (String kind : List.of("database", "application")) {
          List<FakeIssuer.Issuance> issued = issuer.issuances(kind);
          assertThat(issued).as(kind).hasSizeGreaterThanOrEqualTo(3);
          for (int i = 1; i < issued.size(); i++) {
            FakeIssuer.Issuance earlier = issued.get(i - 1);
            Duration life = Duration.between(earlier.at(), earlier.notAfter());
            // the next one comes no sooner than a third of the earlier one's life: once per period
            assertThat(Duration.between(earlier.at(), issued.get(i).at()))
                .as(kind + " issuance " + i + " of " + issued)
                .isGreaterThanOrEqualTo(life.dividedBy(3).minusSeconds(1));
          }
          // over five bot renewals (at most 2.5 h) one credential per period, never one per renewal
          // plus its own
          assertThat(issued.size()).as(kind).isLessThanOrEqualTo(renewals + 1);
        }
      }
    }
  }
}
