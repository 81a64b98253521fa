package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The systemd unit and the Ansible playbook of docs/agent.md, taken from the page itself and checked
 * with {@code systemd-analyze verify} (Debian package {@code systemd}) and
 * {@code ansible-playbook --syntax-check} (Debian package {@code ansible-core}). Each check is also
 * shown a broken copy, so it is known to be able to fail. Skipped where a tool is missing; failed
 * instead under {@code CI=true}.
 */
class DocsExamplesTest {
  private static final Path AGENT_MD =
      Path.of(System.getProperty("basedir", "."), "..", "docs", "agent.md").normalize();

  @TempDir
  Path tmp;

  /** The first fenced block of {@code language} under the {@code ## heading} of docs/agent.md. */
  private static String example(String heading, String language) throws IOException {
    String page = Files.readString(AGENT_MD);
    int section = page.indexOf("\n## " + heading + "\n");
    assertThat(section).as("section '## %s' in %s", heading, AGENT_MD).isNotNegative();
    int next = page.indexOf("\n## ", section + 1);
    String body = page.substring(section, next < 0 ? page.length() : next);
    Matcher m = Pattern.compile("```" + language + "\n(.*?)```", Pattern.DOTALL).matcher(body);
    assertThat(m.find()).as("a ```%s block under '## %s'", language, heading).isTrue();
    return m.group(1);
  }

  // ------------------------------------------------------------------ systemd

  private Result systemdAnalyzeVerify(String unit) throws Exception {
    String tool = require("systemd-analyze", "systemd");
    Path file = Files.writeString(
        Files.createDirectories(tmp.resolve("units")).resolve("machineid-agent.service"), unit);
    return run(List.of(tool, "verify", file.toString()), Map.of());
  }

  @Test
  void theSystemdUnitInTheDocsPassesSystemdAnalyzeVerify() throws Exception {
    String unit = example("systemd", "ini");
    assertThat(unit).contains("ExecStart=/usr/bin/java -jar /opt/machine-id/agent.jar start");

    Result r = systemdAnalyzeVerify(unit);

    assertThat(r.exit()).as(r.output()).isZero();
    // verify also speaks about the host's own units; nothing may be said about ours
    assertThat(r.output()).doesNotContain("machineid-agent");
  }

  @Test
  void systemdAnalyzeVerifyReportsABrokenUnit() throws Exception {
    String broken = example("systemd", "ini").replace("RestartSec=5s", "RestartSecs=5s");

    Result r = systemdAnalyzeVerify(broken);

    assertThat(r.output()).contains("machineid-agent.service").contains("RestartSecs");
  }

  // ------------------------------------------------------------------ Ansible

  private Result syntaxCheck(String playbook) throws Exception {
    String tool = require("ansible-playbook", "ansible-core");
    Path dir = Files.createDirectories(tmp.resolve("ansible"));
    Path book = Files.writeString(dir.resolve("machineid-agent.yml"), playbook);
    // the play's hosts group, so the check runs without "no hosts matched" warnings
    Path inventory = Files.writeString(
        dir.resolve("inventory.ini"), "[ci_runners]\nrunner1 ansible_connection=local\n");
    return run(
        List.of(tool, "--syntax-check", "-i", inventory.toString(), book.toString()),
        Map.of(
            "LC_ALL",
            "C.UTF-8", // ansible-core refuses to start without a UTF-8 locale
            "ANSIBLE_LOCAL_TEMP",
            dir.resolve("tmp").toString(),
            "ANSIBLE_HOME",
            dir.resolve("home").toString(),
            "ANSIBLE_NOCOLOR",
            "1"));
  }

  @Test
  void theAnsiblePlaybookInTheDocsPassesAnsiblePlaybookSyntaxCheck() throws Exception {
    String playbook = example("Ansible", "yaml");
    assertThat(playbook).contains("ansible.builtin.systemd_service:");

    Result r = syntaxCheck(playbook);

    assertThat(r.exit()).as(r.output()).isZero();
    assertThat(r.output()).contains("playbook: ").doesNotContain("ERROR").doesNotContain("WARNING");
  }

  @Test
  void ansiblePlaybookSyntaxCheckReportsAnUnknownModule() throws Exception {
    String broken =
        example("Ansible", "yaml").replace("ansible.builtin.copy:", "ansible.builtin.cpy:");

    Result r = syntaxCheck(broken);

    assertThat(r.exit()).isNotZero();
    assertThat(r.output()).contains("ansible.builtin.cpy");
  }

  // ------------------------------------------------------------------ helpers

  record Result(int exit, String output) {}

  private static Result run(List<String> cmd, Map<String, String> env)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().putAll(env);
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("timed out: " + cmd);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  private static String require(String tool, String pkg) {
    for (String dir :
        System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, tool);
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    String message = tool + " not found; install it (apt-get install -y " + pkg + ")";
    dev.machineid.testkit.Ci.skipOrFail(message);
    return null;
  }
}
