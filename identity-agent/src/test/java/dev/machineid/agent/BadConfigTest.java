package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BadConfigTest {
  private static final String GOOD_HEAD =
      """
      version: v1
      issuer: https://127.0.0.1:1
      onboarding:
        join_method: token
        token: 0123456789abcdef0123
        ca_pins: ["sha256:%s"]
      """
          .formatted("ab".repeat(32));

  @TempDir
  Path tmp;

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      unknown top-level key      | colour: blue                                                          | colour: unknown key
      bad credential_ttl         | credential_ttl: soon                                                  | credential_ttl:
      unknown output type        | 'outputs: [{type: telepathy, destination: {type: memory}}]'           | outputs[0].type: unknown output type 'telepathy'
      unknown destination type   | 'outputs: [{type: identity, destination: {type: cloud}}]'             | outputs[0].destination.type: unknown destination type 'cloud'
      bad diag_addr              | diag_addr: localhost                                                  | diag_addr: expected host:port
      oneshot not a boolean      | oneshot: sometimes                                                    | oneshot: expected true or false
      """)
  void aBadConfigGetsOneClearLineNamingTheKeyAndExitCodeTwo(
      String what, String line, String expected) throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), GOOD_HEAD + line + "\n");

    for (String[] args : new String[][] {
      {"start", "-c", config.toString()}, {"start", "-c", config.toString(), "--oneshot"}
    }) {
      Run run = Run.of(args);

      assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
      assertThat(run.errLines()).hasSize(1);
      assertThat(run.errLines().get(0))
          .startsWith("machineid-agent: config " + config)
          .contains(expected);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      textBlock =
          """
      top level           | credentail_ttl: 1h                                                                      | credentail_ttl: unknown key; did you mean 'credential_ttl'?
      onboarding          | '  insecur: true'                                                                       | onboarding.insecur: unknown key; did you mean 'insecure'?
      join method block   | '  iam: {regoin: eu-west-1}'                                                            | onboarding.iam.regoin: unknown key; did you mean 'region'?
      an output           | 'outputs: [{type: identity, destination: {type: memory}, host_pattern: [a]}]'           | outputs[0].host_pattern: unknown key; did you mean 'host_patterns'?
      a destination       | 'outputs: [{type: identity, destination: {type: memory}}, {type: identity, destination: {type: directory, pth: /x}}]' | outputs[1].destination.pth: unknown key; did you mean 'path'?
      """)
  void anUnknownKeyAtEachNestingLevelExits2WithItsPath(String level, String line, String expected)
      throws Exception {
    String head = level.equals("join method block")
        ? GOOD_HEAD.replace("join_method: token", "join_method: iam")
        : GOOD_HEAD;
    Path config = Files.writeString(tmp.resolve("agent.yaml"), head + line + "\n");

    for (String[] args : new String[][] {
      {"start", "-c", config.toString()},
      {"start", "-c", config.toString(), "--oneshot"},
      {"init", "-c", config.toString()}
    }) {
      Run run = Run.of(args);

      assertThat(run.exitCode()).as(String.join(" ", args) + ": " + run.err()).isEqualTo(2);
      assertThat(run.errLines())
          .as(String.join(" ", args))
          .singleElement()
          .asString()
          .startsWith("machineid-agent: config " + config + ": " + expected);
    }
  }

  @Test
  void aDuplicateKeyIsAnError() throws Exception {
    Path config =
        Files.writeString(tmp.resolve("agent.yaml"), GOOD_HEAD + "issuer: https://127.0.0.1:2\n");

    Run run = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .startsWith("machineid-agent: config " + config + ": line 7, column ")
        .contains("duplicate key 'issuer'");
  }

  @Test
  void aYamlSyntaxErrorCarriesLineAndColumn() throws Exception {
    Path config =
        Files.writeString(tmp.resolve("agent.yaml"), GOOD_HEAD + "outputs: [{type: identity\n");

    Run run = Run.of("start", "-c", config.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .matches("machineid-agent: config " + java.util.regex.Pattern.quote(config.toString())
            + ": line \\d+, column \\d+: .+");
  }

  @Test
  void durationsAreEchoedInTheFilesUnits() throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), GOOD_HEAD + "credential_ttl: 48h\n");

    Run run = Run.of("start", "-c", config.toString(), "--oneshot");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines())
        .singleElement()
        .asString()
        .isEqualTo("machineid-agent: config " + config
            + ": credential_ttl: must be between 1s and 24h, got 48h");
  }

  @Test
  void aMissingIssuerIsNamed() throws Exception {
    Path config = Files.writeString(tmp.resolve("agent.yaml"), "version: v1\n");

    Run run = Run.of("start", "-c", config.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.errLines())
        .containsExactly("machineid-agent: config " + config + ": issuer: missing");
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
