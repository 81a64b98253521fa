package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BadConfigTest {
  private static final String GOOD_HEAD = """
      version: v1
      issuer: https://127.0.0.1:1
      onboarding:
        join_method: token
        token: 0123456789abcdef0123
        ca_pins: ["sha256:%s"]
      """.formatted("ab".repeat(32));

  @TempDir Path tmp;

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      unknown top-level key      | colour: blue                                                          | colour: unknown key
      bad credential_ttl         | credential_ttl: soon                                                  | credential_ttl:
      unknown output type        | 'outputs: [{type: telepathy, destination: {type: memory}}]'           | outputs[0].type: unknown output type 'telepathy'
      unknown destination type   | 'outputs: [{type: identity, destination: {type: cloud}}]'             | outputs[0].destination.type: unknown destination type 'cloud'
      bad diag_addr              | diag_addr: localhost                                                  | diag_addr: expected host:port
      oneshot not a boolean      | oneshot: sometimes                                                    | oneshot: expected true or false
      """)
  void aBadConfigGetsOneClearLineNamingTheKeyAndExitCodeTwo(String what, String line, String expected) throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), GOOD_HEAD + line + "\n");

    for (String[] args : new String[][] {{"start", "-c", config.toString()}, {"start", "-c", config.toString(), "--oneshot"}}) {
      Run run = Run.of(args);

      assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
      assertThat(run.errLines()).hasSize(1);
      assertThat(run.errLines().get(0)).startsWith("machineid-agent: config " + config).contains(expected);
    }
  }

  @Test
  void aMissingIssuerIsNamed() throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), "version: v1\n");

    Run run = Run.of("start", "-c", config.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines()).containsExactly("machineid-agent: config " + config + ": issuer: missing");
  }

  @Test
  void aMissingConfigFileIsOneLineAndExitCodeTwo() {
    Run run = Run.of("start", "-c", tmp.resolve("nope.yaml").toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines()).hasSize(1);
    assertThat(run.errLines().get(0)).contains("nope.yaml").contains("cannot read");
  }

  @Test
  void aBadDiagAddrFlagIsNamed() throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), GOOD_HEAD);

    Run run = Run.of("start", "-c", config.toString(), "--diag-addr", "127.0.0.1:http");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines()).singleElement().asString().contains("--diag-addr");
  }

  @Test
  void noSubcommandPrintsUsageAndExitsTwo() {
    Run run = Run.of();

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("start").contains("init");
  }
}
