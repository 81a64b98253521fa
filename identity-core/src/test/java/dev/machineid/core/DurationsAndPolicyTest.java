package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.protocol.ChallengeId;
import dev.machineid.core.protocol.GoDuration;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsAndPolicyTest {
  @Test
  void goDurationsParseAndPrintLikeGo() {
    assertThat(GoDuration.parse("90s")).isEqualTo(Duration.ofSeconds(90));
    assertThat(GoDuration.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(GoDuration.parse("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(GoDuration.format(Duration.ofMinutes(90))).isEqualTo("1h30m");
    assertThat(GoDuration.format(Duration.ofSeconds(6))).isEqualTo("6s");
    assertThatThrownBy(() -> GoDuration.parse("1 hour")).hasMessageContaining("90s, 15m or 1h");
    assertThatThrownBy(() -> GoDuration.parse("")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void challengeIdIsTheFirst22CharactersOfTheHash() {
    // base64url(SHA-256("abc")) = ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0
    assertThat(ChallengeId.of("abc")).isEqualTo("ungWv48Bz-pBQUDeXa4iI7");
  }

  @Test
  void renewalHappensAfterAThirdOfTheLifetimeByDefault() {
    RenewalPolicy p = RenewalPolicy.defaults();
    assertThat(p.baseDelay(Duration.ofHours(1))).isEqualTo(Duration.ofMinutes(20));
    RenewalPolicy fixed =
        RenewalPolicy.builder().interval(Duration.ofMinutes(5)).build();
    assertThat(fixed.baseDelay(Duration.ofHours(1))).isEqualTo(Duration.ofMinutes(5));
    // an interval not shorter than the lifetime would let the certificate expire: a third is used
    assertThat(fixed.baseDelay(Duration.ofMinutes(3))).isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void retryBackoffGrowsExponentiallyAndIsCapped() {
    RenewalPolicy p = RenewalPolicy.builder()
        .retryBaseDelay(Duration.ofMillis(100))
        .retryMaxDelay(Duration.ofSeconds(2))
        .build();
    assertThat(p.retryDelay(1, 1.0)).isEqualTo(Duration.ofMillis(100));
    assertThat(p.retryDelay(3, 1.0)).isEqualTo(Duration.ofMillis(400));
    assertThat(p.retryDelay(30, 1.0)).isEqualTo(Duration.ofSeconds(2));
    assertThat(p.retryDelay(30, 0.0)).isEqualTo(Duration.ofMillis(100));
    assertThatThrownBy(() -> RenewalPolicy.builder()
            .retryBaseDelay(Duration.ofSeconds(5))
            .retryMaxDelay(Duration.ofSeconds(1))
            .build())
        .hasMessageContaining("retryMaxDelay");
  }
}
