package dev.machineid.issuer.internal.join;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.internal.aws.Ec2VerifierProvider;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.VerifierContext;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VerifiersTest {
  /** A second provider of the {@code ec2} method, as a jar on the class path might bring. */
  static final class SecondEc2 implements JoinVerifierProvider {
    @Override
    public String name() {
      return "ec2";
    }

    @Override
    public JoinVerifier create(VerifierContext context) {
      return new Ec2VerifierProvider().create(context);
    }
  }

  private static final VerifierContext CONTEXT =
      new VerifierContext("example.test", Clock.systemUTC());

  @Test
  void aSecondProviderOfAnExistingJoinMethodFailsDiscoveryNamingBothClasses() {
    assertThatThrownBy(() -> Verifiers.discover(
            List.of(new TokenVerifierProvider(), new Ec2VerifierProvider(), new SecondEc2()),
            CONTEXT,
            List.of(),
            Map.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'ec2'")
        .hasMessageContaining(Ec2VerifierProvider.class.getName())
        .hasMessageContaining(SecondEc2.class.getName());
  }

  @Test
  void anUnknownVerifierSettingIsRefusedWithItsPathAndTheNearestKey() {
    assertThatThrownBy(() -> Issuer.builder()
            .verifierSettings("ec2", Map.of("max_instance_ag", "10m"))
            .build()
            .close())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "join_methods.ec2.max_instance_ag: unknown key; did you mean 'max_instance_age'?");
  }

  @Test
  void aSettingGivenToAMethodThatTakesNoneIsRefusedWithItsPath() {
    assertThatThrownBy(() -> Issuer.builder()
            .verifierSettings("token", Map.of("anything", 1))
            .build()
            .close())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(
            "join_methods.token.anything: unknown key; this block takes no settings");
  }

  @Test
  void aBadVerifierSettingIsRefusedWithItsPath() {
    assertThatThrownBy(() -> Issuer.builder()
            .verifierSettings("ec2", Map.of("max_instance_age", "0s"))
            .build()
            .close())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("join_methods.ec2.max_instance_age: must be positive, got 0s");
  }
}
