package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RenewalWindowTest {
  @Test
  void theDefaultRenewalFallsBetweenAThirdAndAHalfOfTheLifetime() {
    RenewalPolicy p = RenewalPolicy.defaults();
    assertThat(p.renewalDelay(Duration.ofHours(1), 0.0)).isEqualTo(Duration.ofMinutes(20));
    assertThat(p.renewalDelay(Duration.ofHours(1), 0.5)).isEqualTo(Duration.ofMinutes(25));
    assertThat(p.renewalDelay(Duration.ofHours(1), 0.999_999))
        .isBetween(Duration.ofMinutes(29), Duration.ofMinutes(30));
  }

  @Test
  void aFixedIntervalKeepsItsTenPercentJitter() {
    RenewalPolicy p = RenewalPolicy.builder().interval(Duration.ofMinutes(10)).build();
    assertThat(p.renewalDelay(Duration.ofHours(1), 0.0)).isEqualTo(Duration.ofMinutes(10));
    assertThat(p.renewalDelay(Duration.ofHours(1), 1.0)).isEqualTo(Duration.ofMinutes(9));
  }

  @Test
  void refusalsBackOffFromTheRetryCeilingUpToTheRefusalCeiling() {
    RenewalPolicy p = RenewalPolicy.builder()
        .retryMaxDelay(Duration.ofMinutes(1))
        .refusalRetryDelay(Duration.ofMinutes(5))
        .build();
    assertThat(p.refusalDelay(1, 0.99)).isEqualTo(Duration.ofMinutes(1));
    assertThat(p.refusalDelay(2, 1.0)).isEqualTo(Duration.ofMinutes(2));
    assertThat(p.refusalDelay(10, 1.0)).isEqualTo(Duration.ofMinutes(5));
    assertThat(p.refusalDelay(10, 0.0)).isEqualTo(Duration.ofMinutes(1));
    assertThat(RenewalPolicy.defaults().refusalRetryDelay()).isEqualTo(Duration.ofMinutes(5));
    assertThatThrownBy(() -> RenewalPolicy.builder().refusalRetryDelay(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
