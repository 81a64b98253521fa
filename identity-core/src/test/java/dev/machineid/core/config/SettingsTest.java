package dev.machineid.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.ConfigException;
import dev.machineid.core.MachineIdentity;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
  @Test
  void anUnknownSettingIsRefusedWithItsPath() {
    Settings output = Settings.of(
        "outputs[1]",
        Map.of(
            "type",
            "ssh",
            "roles",
            List.of("deployer"),
            "destination",
            Map.of("type", "directory", "pth", "/x")));
    output.declare("type");
    assertThat(output.list("roles")).containsExactly("deployer");
    Settings destination = output.block("destination").declare("type", "path", "reader_user");

    assertThatThrownBy(output::refuseUnknown)
        .isInstanceOf(SettingsException.class)
        .hasMessageStartingWith("outputs[1].destination.pth: unknown key; did you mean 'path'?")
        .extracting(e -> ((SettingsException) e).path())
        .isEqualTo("outputs[1].destination.pth");
    assertThat(destination.path()).isEqualTo("outputs[1].destination");
  }

  @Test
  void aRequiredKeyWithANearTypoNamesTheTypo() {
    Settings d = Settings.of("outputs[0].destination", Map.of("type", "directory", "pth", "/x"));

    assertThatThrownBy(() -> d.string("path"))
        .hasMessage("outputs[0].destination.pth: unknown key; did you mean 'path'?");
  }

  @Test
  void aKeyFarFromEveryKnownKeyGetsNoSuggestionButTheKnownKeys() {
    Settings s = Settings.of(Map.of("colour", "blue", "path", "/x"));
    s.string("path");

    assertThatThrownBy(s::refuseUnknown).hasMessage("colour: unknown key (known: path)");
  }

  @Test
  void aBadDurationIsEchoedAsWritten() {
    Settings s = Settings.of("outputs[0]", Map.of("ttl", "48 hours"));

    assertThatThrownBy(() -> s.optionalDuration("ttl"))
        .hasMessage(
            "outputs[0].ttl: expected a duration such as 90s, 20m or 1h30m, got '48 hours'");
    assertThat(Settings.of(Map.of("ttl", "1h30m")).duration("ttl"))
        .isEqualTo(Duration.ofMinutes(90));
  }

  @Test
  void theBuilderRefusesAnUnknownJoinSettingWithItsNameAndNoFile() {
    MachineIdentity.Builder b = MachineIdentity.builder()
        .issuer("https://127.0.0.1:1")
        .insecure(true)
        .joinMethod("token", Map.of("token", "0123456789abcdef", "tokn", "x"));

    assertThatThrownBy(b::build)
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("join method 'token': tokn: unknown key; did you mean 'token'?");
  }
}
