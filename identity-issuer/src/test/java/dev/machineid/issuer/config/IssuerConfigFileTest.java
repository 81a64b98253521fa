package dev.machineid.issuer.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.cli.IssuerCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Mistakes in {@code issuer.yaml} are one line naming the file, the key's path and the nearest
 * valid key, with exit status 2, before anything starts; and every command has help.
 */
class IssuerConfigFileTest {
  @TempDir
  Path tmp;

  Path dir;
  Path yaml;
  String generated;

  record Result(int code, String out, String err) {}

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = IssuerCli.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Result(code, out.toString(), err.toString());
  }

  @BeforeEach
  void init() throws IOException {
    dir = tmp.resolve("issuer");
    Result r = run("init", "--dir", dir.toString(), "--listen", "127.0.0.1:0");
    assertThat(r.code()).as(r.err()).isZero();
    yaml = dir.resolve("issuer.yaml");
    generated = Files.readString(yaml);
  }

  /** serve with {@code content} as issuer.yaml: exits 2 with one line. */
  private String serveFailsWithUsageError(String content) throws IOException {
    Files.writeString(yaml, content);
    // in a thread, so that a file wrongly accepted fails the test instead of serving forever
    Result[] result = new Result[1];
    Thread serve =
        new Thread(() -> result[0] = run("serve", "-c", yaml.toString()), "config-test-serve");
    serve.setDaemon(true);
    serve.start();
    try {
      serve.join(60_000);
      if (serve.isAlive()) {
        serve.interrupt();
        serve.join(20_000);
        throw new AssertionError("serve accepted the file and started: " + content);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    Result r = result[0];
    assertThat(r.code()).as(r.out() + r.err()).isEqualTo(2);
    String line = r.err().strip();
    assertThat(line.lines().count()).as(line).isEqualTo(1);
    assertThat(line).startsWith("issuer: " + yaml);
    assertThat(dir.resolve("issuer.url")).doesNotExist();
    return line;
  }

  @Test
  void anUnknownKeyAtEachNestingLevelExits2WithItsPath() throws IOException {
    assertThat(serveFailsWithUsageError(generated.replace("max_ttl: 24h", "max_tll: 24h")))
        .contains("unknown key 'max_tll'")
        .contains("did you mean 'max_ttl'?");
    assertThat(serveFailsWithUsageError(generated.replace(
            "rate_limit: {per_second: 20, burst: 40}", "rate_limit: {per_second: 20, brust: 40}")))
        .contains("unknown key 'rate_limit.brust'")
        .contains("did you mean 'rate_limit.burst'?");
    assertThat(serveFailsWithUsageError(generated.replace(
            "join_methods: {}", "join_methods:\n  iam:\n    sts_endpoints: [sts.internal:8443]\n")))
        .contains("unknown key 'join_methods.iam.sts_endpoints'")
        .contains("did you mean 'join_methods.iam.additional_sts_endpoints'?");
    assertThat(serveFailsWithUsageError(generated.replace(
            "join_methods: {}", "join_methods:\n  ec2:\n    max_instance_ag: 10m\n")))
        .contains("unknown key 'join_methods.ec2.max_instance_ag'")
        .contains("did you mean 'join_methods.ec2.max_instance_age'?");
    assertThat(serveFailsWithUsageError(
            generated.replace("join_methods: {}", "join_methods:\n  iamm: {}\n")))
        .contains("unknown key 'join_methods.iamm'")
        .contains("did you mean 'join_methods.iam'?");
    assertThat(serveFailsWithUsageError(
            generated.replace("join_methods: {}", "join_methods:\n  token:\n    anything: 1\n")))
        .contains("unknown key 'join_methods.token.anything'");
  }

  @Test
  void aDuplicateKeyIsAnError() throws IOException {
    String line = serveFailsWithUsageError(generated + "max_ttl: 2h\n");
    assertThat(line)
        .contains("duplicate key")
        .contains("max_ttl")
        .matches(".*issuer\\.yaml:\\d+:\\d+: .*");
    line = serveFailsWithUsageError(generated.replace(
        "rate_limit: {per_second: 20, burst: 40}", "rate_limit: {per_second: 20, per_second: 40}"));
    assertThat(line).contains("duplicate key").contains("per_second");
  }

  @Test
  void aYamlSyntaxErrorCarriesLineAndColumn() throws IOException {
    List<String> lines = new ArrayList<>(generated.lines().toList());
    int at = lines.indexOf("max_ttl: 24h");
    lines.set(at, "max_ttl: [24h");
    String line = serveFailsWithUsageError(String.join("\n", lines) + "\n");
    assertThat(line).matches(".*issuer\\.yaml:\\d+:\\d+: YAML syntax error: .*");
    int reported = Integer.parseInt(line.replaceAll(".*issuer\\.yaml:(\\d+):\\d+: .*", "$1"));
    assertThat(reported).isGreaterThan(at);
  }

  @Test
  void valuesAreEchoedInTheFilesOwnUnits() throws IOException {
    assertThat(serveFailsWithUsageError(generated.replace("max_ttl: 24h", "max_ttl: 48h")))
        .contains("'max_ttl' must be 1s to 24h, got 48h")
        .doesNotContain("PT")
        .doesNotContain("maxTtl");
    assertThat(serveFailsWithUsageError(generated
            .replace("default_ttl: 1h", "default_ttl: 2h")
            .replace("max_ttl: 24h", "max_ttl: 90m")))
        .contains("'default_ttl' must be 1s to 1h30m, got 2h")
        .doesNotContain("PT");
    assertThat(serveFailsWithUsageError(
            generated.replace("max_request_bytes: 65536", "max_request_bytes: 10")))
        .contains("'max_request_bytes' must be 1024 to 16777216, got 10")
        .doesNotContain("maxRequestBytes");
  }

  @Test
  void everyCommandHasHelp() {
    CommandLine root = new CommandLine(new IssuerCli());
    List<List<String>> paths = new ArrayList<>();
    collect(root, new ArrayList<>(), paths);
    assertThat(paths).hasSizeGreaterThan(20);
    for (List<String> path : paths) {
      List<String> args = new ArrayList<>(path);
      args.add("--help");
      Result r = run(args.toArray(String[]::new));
      assertThat(r.code()).as(args + ": " + r.err()).isZero();
      assertThat(r.out()).as(args.toString()).startsWith("Usage: issuer " + String.join(" ", path));
      if (path.size() >= 1) {
        // issuer help bots, issuer bots help add
        List<String> help = new ArrayList<>(path.subList(0, path.size() - 1));
        help.add("help");
        help.add(path.get(path.size() - 1));
        Result h = run(help.toArray(String[]::new));
        assertThat(h.code()).as(help + ": " + h.err()).isZero();
        assertThat(h.out())
            .as(help.toString())
            .startsWith("Usage: issuer " + String.join(" ", path));
      }
    }
  }

  private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
    for (var e : cl.getSubcommands().entrySet()) {
      if (e.getKey().equals("help")) {
        continue;
      }
      List<String> p = new ArrayList<>(prefix);
      p.add(e.getKey());
      out.add(p);
      collect(e.getValue(), p, out);
    }
  }
}
