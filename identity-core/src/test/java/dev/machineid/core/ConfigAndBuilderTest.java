package dev.machineid.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigAndBuilderTest {
  private static final String PIN = "sha256:" + "ab".repeat(32);

  @TempDir
  Path tmp;

  private Path config(String yaml) throws Exception {
    return Files.writeString(tmp.resolve("agent.yaml"), yaml);
  }

  @Test
  void agentConfigBuildsAnIdentity() throws Exception {
    Path p = config(
        """
        version: v1
        issuer: https://127.0.0.1:8443
        onboarding:
          join_method: token
          token: 3f1c0000
          ca_pins: ["%s"]
        storage: {type: directory, path: %s}
        credential_ttl: 30m
        renewal_interval: 10m
        """
            .formatted(PIN, tmp.resolve("state")));
    try (MachineIdentity id = MachineIdentity.fromConfig(p)) {
      assertThat(id.health().state()).isEqualTo(Health.State.STARTING);
    }
  }

  @Test
  void fileOutputTypesNameTheModuleThatProvidesThem() throws Exception {
    // output kinds, identity included, come with identity-outputs (not on this module's class path)
    Path p = config(
        """
        version: v1
        issuer: https://127.0.0.1:8443
        onboarding: {join_method: token, token: t, ca_pins: ["%s"]}
        outputs:
          - type: identity
            destination: {type: memory}
        """
            .formatted(PIN));
    assertThatThrownBy(() -> MachineIdentity.fromConfig(p))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("outputs[0].type")
        .hasMessageContaining("'identity'")
        .hasMessageContaining("identity-outputs");
  }

  @Test
  void unknownKeyIsNamedInOneLine() throws Exception {
    Path p = config(
        "version: v1\nissuer: https://x:1\nonboarding: {join_method: token, token: t, ca_pins: [\""
            + PIN + "\"]}\ncredentail_ttl: 1h\n");
    assertThatThrownBy(() -> MachineIdentity.fromConfig(p))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("credentail_ttl")
        .hasMessageContaining("unknown key");
  }

  @Test
  void badPinIsNamedByItsPosition() throws Exception {
    Path p = config(
        "version: v1\nissuer: https://x:1\nonboarding: {join_method: token, token: t, ca_pins: [\"sha256:zz\"]}\n");
    assertThatThrownBy(() -> MachineIdentity.fromConfig(p))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("onboarding.ca_pins[0]");
  }

  @Test
  void unknownJoinMethodListsWhatIsOnTheClassPathAndTheModuleToAdd() {
    assertThatThrownBy(() -> MachineIdentity.builder()
            .issuer("https://x:1")
            .caPins(PIN)
            .joinMethod("iam", java.util.Map.of())
            .build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("[token]")
        .hasMessageContaining("identity-join-aws");
  }

  @Test
  void noPinAndNotInsecureIsAConfigError() {
    assertThatThrownBy(
            () -> MachineIdentity.builder().issuer("https://x:1").token("t").build())
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("no CA pin");
  }

  @Test
  void settingTwiceOrBadValuesFailFast() {
    MachineIdentity.Builder b = MachineIdentity.builder().issuer("https://x:1");
    assertThatThrownBy(() -> b.issuer("https://y:1")).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> MachineIdentity.builder().issuer("http://x:1"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> MachineIdentity.builder().credentialTtl(java.time.Duration.ofHours(25)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("24h");
  }
}
