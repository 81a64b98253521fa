package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.ConfigException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.cli.IssuerCli;
import dev.machineid.issuer.config.IssuerConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The docs cannot drift: every fenced block of docs/issuer.md, docs/agent.md and docs/outputs.md,
 * in order, parsed by the reader it documents or run against a real issuer started from an
 * {@code issuer init}'d scratch directory, with the CLIs' own {@code main} entry points in-process.
 *
 * <p>A block is classified by its language and by a marker on the line before it (the convention is
 * in CONTRIBUTING.md, "Docs that run"):
 *
 * <ul>
 *   <li>{@code <!-- docs-test: issuer-config -->}: a whole {@code issuer.yaml}, read by {@link IssuerConfig#load};
 *   <li>{@code <!-- docs-test: agent-config -->}: a whole agent YAML, read as {@code agent start} reads it
 *       ({@link AgentSettings#read} and {@link MachineIdentity#builderFromConfig});
 *   <li>{@code <!-- docs-test: agent-output -->} / {@code agent-destination}: one entry of {@code outputs:} /
 *       one {@code destination:} block, wrapped into {@link #AGENT_WRAPPER} and read the same way;
 *   <li>any of these followed by {@code fails "MESSAGE"}: the block must be refused with MESSAGE;
 *   <li>{@code <!-- docs-test: file NAME -->}: the block is written to NAME in the working directory for
 *       the commands after it;
 *   <li>{@code <!-- docs-test: synopsis -->}: a command reference: every command named exists and takes
 *       every {@code --option} shown ({@code --help});
 *   <li>{@code <!-- docs-test: skip (REASON) -->}: not checked, for the reason given;
 *   <li>no marker, {@code sh}/{@code bash}: every {@code issuer …} and {@code java -jar …agent.jar …} line is
 *       run, in order, and must exit 0; {@code console}: the same for {@code $ } lines, and the output shown
 *       under a command must appear in its output, in order (words with digits, {@code …} or {@code <…>}
 *       match any word).
 * </ul>
 *
 * A block of another language ({@code ini}, {@code json}, {@code text}) is not checked here; a block
 * without a language, a YAML block without a marker, and a marker not directly above a block fail.
 */
class DocsRunTest {
  private static final Path ROOT =
      Path.of(System.getProperty("basedir", "."), "..").toAbsolutePath().normalize();
  private static final List<String> PAGES =
      List.of("docs/issuer.md", "docs/agent.md", "docs/outputs.md");
  private static final Pattern MARKER = Pattern.compile("^<!-- docs-test: (.*?) -->$");
  private static final Pattern FENCE = Pattern.compile("^```([A-Za-z0-9_-]*)\\s*$");
  private static final Pattern FAILS = Pattern.compile("^(\\S+) fails \"(.*)\"$");

  /** A pin of the right shape, for configs read before {@code issuer init} has made the real one. */
  private static final String SOME_PIN = "sha256:" + "0".repeat(64);

  /** How an {@code agent-output} ({@code %s} = the entry) or {@code agent-destination} block becomes a whole file. */
  private static final String AGENT_WRAPPER =
      """
      version: v1
      issuer: https://127.0.0.1:8443
      onboarding: {join_method: token, token: docs-test-token, ca_pins: ["%s"]}
      outputs:
      %s""";

  @TempDir
  static Path tmp;

  /** Values learnt from earlier output: the CA pin (after init), the issuer URL and a join token (after bots add). */
  private static final Map<String, String> learnt = new LinkedHashMap<>();

  private static Thread serve;
  private static Path serveDir;

  /**
   * The substitution table: what the docs write for a production host, and what the test uses instead.
   * Applied, in this order, to every command and YAML block before it is run or read.
   */
  private static Map<String, String> substitutions() {
    Map<String, String> s = new LinkedHashMap<>();
    s.put(
        "/etc/machineid-issuer",
        tmp.resolve("etc-machineid-issuer").toString()); // the init directory
    s.put("0.0.0.0:8443", "127.0.0.1:0"); // any free port on loopback
    // the docs' issuer names, which do not resolve here; admin commands use the first
    s.put("--host-names issuer.example.internal,10.0.0.5", "--host-names localhost,127.0.0.1");
    s.put("/opt/machine-id", tmp.resolve("opt-machine-id").toString()); // output directories
    s.put("/var/lib/machineid", tmp.resolve("var-lib-machineid").toString()); // agent storage
    s.put("/etc/machineid/", tmp.resolve("etc-machineid").toString() + "/"); // agent config
    s.put(
        "/etc/kubernetes/pki",
        tmp.resolve("etc-kubernetes-pki").toString()); // where a kube-apiserver reads its CA
    s.put("https://issuer.internal:8443", learnt.getOrDefault("url", "https://127.0.0.1:8443"));
    s.put("sha256:…", learnt.getOrDefault("pin", SOME_PIN)); // the CA pin printed by init
    s.put(
        "3f1c…", learnt.getOrDefault("token", "docs-test-token")); // the token printed by bots add
    // the docs' reader account: a reader that does not exist is refused when the config is read
    s.put("reader_user: app, reader_group: app", "reader_user: root, reader_group: root");
    for (String file : files.keySet()) {
      s.put(
          " " + file,
          " " + files.get(file)); // files written by `file NAME` blocks, as command arguments
    }
    return s;
  }

  private static final Map<String, String> files = new LinkedHashMap<>();

  record Block(String page, int line, String language, String marker, String text) {
    String where() {
      return page + ":" + line;
    }
  }

  @TestFactory
  Stream<DynamicTest> everyBlockOfTheOperatorDocsParsesOrRunsAsWritten() throws IOException {
    List<Block> blocks = new ArrayList<>();
    for (String page : PAGES) {
      blocks.addAll(blocks(page));
    }
    return blocks.stream()
        .map(b -> DynamicTest.dynamicTest(
            b.where() + " " + b.language() + (b.marker() == null ? "" : " [" + b.marker() + "]"),
            () -> check(b)));
  }

  @AfterAll
  static void stopServe() throws InterruptedException {
    if (serve != null) {
      serve.interrupt();
      serve.join(15_000);
      assertThat(serve.isAlive()).as("issuer serve stopped").isFalse();
    }
  }

  // ------------------------------------------------------------------ reading the pages

  static List<Block> blocks(String page) throws IOException {
    List<String> lines = Files.readAllLines(ROOT.resolve(page));
    List<Block> out = new ArrayList<>();
    String marker = null;
    int markerLine = 0;
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      Matcher m = MARKER.matcher(l.strip());
      if (m.matches()) {
        assertThat(marker)
            .as("%s:%d: a docs-test marker with no block under it", page, markerLine)
            .isNull();
        marker = m.group(1).strip();
        markerLine = i + 1;
        continue;
      }
      Matcher f = FENCE.matcher(l);
      if (f.matches()) {
        int start = i + 1;
        StringBuilder text = new StringBuilder();
        for (i++; i < lines.size() && !lines.get(i).startsWith("```"); i++) {
          text.append(lines.get(i)).append('\n');
        }
        assertThat(i).as("%s:%d: the block is never closed", page, start).isLessThan(lines.size());
        out.add(new Block(page, start, f.group(1), marker, text.toString()));
        marker = null;
        continue;
      }
      if (!l.isBlank()) {
        assertThat(marker)
            .as(
                "%s:%d: a docs-test marker must be the line right above a ``` block",
                page, markerLine)
            .isNull();
      }
    }
    assertThat(marker)
        .as("%s:%d: a docs-test marker with no block under it", page, markerLine)
        .isNull();
    return out;
  }

  // ------------------------------------------------------------------ checking one block

  private static void check(Block b) throws Exception {
    String marker = b.marker();
    if (marker != null && marker.startsWith("skip")) {
      assertThat(marker)
          .as("%s: a skip says why: <!-- docs-test: skip (REASON) -->", b.where())
          .matches("skip \\(.+\\)");
      return;
    }
    assertThat(b.language())
        .as("%s: a block without a language; give it one (sh, console, yaml, text, …)", b.where())
        .isNotEmpty();
    if (marker != null && marker.startsWith("file ")) {
      String name = marker.substring(5).strip();
      Path file = tmp.resolve("work").resolve(substitute(name)).toAbsolutePath().normalize();
      assertThat(file.startsWith(tmp))
          .as(
              "%s: the file %s is outside the scratch directory; add its directory to the "
                  + "substitution table",
              b.where(), file)
          .isTrue();
      Files.createDirectories(file.getParent());
      Files.writeString(file, substitute(b.text()));
      if (!Path.of(name).isAbsolute()) {
        files.put(name, file.toString());
      }
      return;
    }
    if (marker != null && marker.equals("synopsis")) {
      synopsis(b);
      return;
    }
    switch (b.language()) {
      case "yaml" -> yaml(b);
      case "sh", "bash", "console" -> {
        assertThat(marker)
            .as("%s: unknown docs-test marker '%s' on a command block", b.where(), marker)
            .isNull();
        commands(b);
      }
      default ->
        assertThat(marker)
            .as("%s: unknown docs-test marker '%s' on a %s block", b.where(), marker, b.language())
            .isNull();
    }
  }

  private static void yaml(Block b) throws IOException {
    assertThat(b.marker())
        .as(
            "%s: a YAML block needs a marker saying what reads it: <!-- docs-test: issuer-config | agent-config | "
                + "agent-output | agent-destination | file NAME | skip (REASON) -->",
            b.where())
        .isNotNull();
    String kind = b.marker();
    String failure = null;
    Matcher fails = FAILS.matcher(kind);
    if (fails.matches()) {
      kind = fails.group(1);
      failure = fails.group(2);
    }
    String text = substitute(b.text());
    Path dir = Files.createDirectories(
        tmp.resolve("yaml").resolve(b.page().replace('/', '-') + "-" + b.line()));
    RuntimeException refused;
    switch (kind) {
      case "issuer-config" ->
        refused =
            refusal(() -> IssuerConfig.load(Files.writeString(dir.resolve("issuer.yaml"), text)));
      case "agent-config" ->
        refused =
            refusal(() -> readAgentConfig(Files.writeString(dir.resolve("agent.yaml"), text)));
      case "agent-output" ->
        refused = refusal(() -> readAgentConfig(Files.writeString(
            dir.resolve("agent.yaml"),
            AGENT_WRAPPER.formatted(SOME_PIN, indent(text, "  - ", "    ")))));
      case "agent-destination" ->
        refused = refusal(() -> readAgentConfig(Files.writeString(
            dir.resolve("agent.yaml"),
            AGENT_WRAPPER.formatted(
                SOME_PIN, "  - type: identity\n" + indent(text, "    ", "    ")))));
      default ->
        throw new AssertionError(
            b.where() + ": unknown docs-test marker '" + b.marker() + "' on a YAML block");
    }
    if (failure == null) {
      if (refused != null) {
        throw new AssertionError(
            b.where() + ": the " + kind + " block is refused: " + refused.getMessage(), refused);
      }
    } else {
      assertThat(refused)
          .as(
              "%s: the %s block should be refused with \"%s\", but it was accepted",
              b.where(), kind, failure)
          .isNotNull();
      assertThat(refused.getMessage())
          .as("%s: the message the %s block is refused with", b.where(), kind)
          .contains(failure);
    }
  }

  interface Read {
    void run() throws IOException;
  }

  private static RuntimeException refusal(Read read) throws IOException {
    try {
      read.run();
      return null;
    } catch (ConfigException | IllegalArgumentException | IllegalStateException e) {
      return e;
    }
  }

  /** What {@code agent start} and {@code agent init} read before doing anything. */
  private static void readAgentConfig(Path file) {
    AgentSettings.read(file);
    MachineIdentity.builderFromConfig(file);
  }

  private static String indent(String text, String first, String rest) {
    StringBuilder sb = new StringBuilder();
    List<String> lines = text.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      sb.append(i == 0 ? first : rest).append(lines.get(i)).append('\n');
    }
    return sb.toString();
  }

  private static String substitute(String text) {
    String t = text;
    for (Map.Entry<String, String> e : substitutions().entrySet()) {
      t = t.replace(e.getKey(), e.getValue());
    }
    return t;
  }

  // ------------------------------------------------------------------ commands

  /** One logical line: {@code \}-continuations joined, a comment after {@code  #} dropped. */
  record Line(int line, String text, List<String> output) {}

  private static List<Line> logicalLines(Block b) {
    List<Line> out = new ArrayList<>();
    List<String> raw = b.text().lines().toList();
    boolean console = b.language().equals("console");
    for (int i = 0; i < raw.size(); i++) {
      int at = b.line() + 1 + i;
      String l = raw.get(i);
      if (console) {
        if (!l.startsWith("$ ")) {
          assertThat(out)
              .as("%s: output before the first '$ ' command", b.page() + ":" + at)
              .isNotEmpty();
          out.get(out.size() - 1).output().add(l);
          continue;
        }
        l = l.substring(2);
      }
      StringBuilder sb = new StringBuilder();
      while (l.endsWith("\\") && i + 1 < raw.size()) {
        sb.append(l, 0, l.length() - 1).append(' ');
        l = raw.get(++i).strip();
      }
      sb.append(l);
      String text = stripComment(sb.toString()).strip();
      if (!text.isEmpty()) {
        out.add(new Line(at, text, new ArrayList<>()));
      }
    }
    return out;
  }

  private static String stripComment(String l) {
    boolean single = false;
    boolean dbl = false;
    for (int i = 0; i < l.length(); i++) {
      char c = l.charAt(i);
      if (c == '\'' && !dbl) {
        single = !single;
      } else if (c == '"' && !single) {
        dbl = !dbl;
      } else if (c == '#'
          && !single
          && !dbl
          && (i == 0 || Character.isWhitespace(l.charAt(i - 1)))) {
        return l.substring(0, i);
      }
    }
    return l;
  }

  /** Words as a POSIX shell splits them, for the quoting the docs use ({@code '…'}, {@code "…"}). */
  static List<String> words(String line) {
    List<String> out = new ArrayList<>();
    StringBuilder w = null;
    char quote = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (quote != 0) {
        if (c == quote) {
          quote = 0;
        } else {
          w.append(c);
        }
      } else if (c == '\'' || c == '"') {
        quote = c;
        w = w == null ? new StringBuilder() : w;
      } else if (Character.isWhitespace(c)) {
        if (w != null) {
          out.add(w.toString());
          w = null;
        }
      } else {
        w = w == null ? new StringBuilder() : w;
        w.append(c);
      }
    }
    assertThat(quote).as("unbalanced quotes in: %s", line).isEqualTo((char) 0);
    if (w != null) {
      out.add(w.toString());
    }
    return out;
  }

  enum Program {
    ISSUER,
    AGENT
  }

  /** Which of our CLIs a command line runs, and the words after the program; {@code null} for any other program. */
  private static Map.Entry<Program, List<String>> ours(List<String> words) {
    if (!words.isEmpty() && words.get(0).equals("issuer")) {
      return Map.entry(Program.ISSUER, words.subList(1, words.size()));
    }
    if (words.size() >= 3 && words.get(0).equals("java") && words.get(1).equals("-jar")) {
      if (words.get(2).endsWith("/agent.jar")) {
        return Map.entry(Program.AGENT, words.subList(3, words.size()));
      }
      if (words.get(2).endsWith("/issuer.jar")) {
        return Map.entry(Program.ISSUER, words.subList(3, words.size()));
      }
    }
    return null;
  }

  record Result(int code, String out, String err) {}

  private static void commands(Block b) throws Exception {
    int ran = 0;
    for (Line line : logicalLines(b)) {
      String text = substitute(line.text());
      List<String> words = words(text);
      Path redirect = null;
      int gt = words.indexOf(">");
      if (gt >= 0) {
        assertThat(words)
            .as("%s:%d: '>' takes one file: %s", b.page(), line.line(), line.text())
            .hasSize(gt + 2);
        redirect = Path.of(words.get(gt + 1)).toAbsolutePath().normalize();
        assertThat(redirect.startsWith(tmp))
            .as(
                "%s:%d: writes to %s, outside the scratch directory; add its directory to the "
                    + "substitution table",
                b.page(), line.line(), redirect)
            .isTrue();
        words = words.subList(0, gt);
      }
      Map.Entry<Program, List<String>> cmd = ours(words);
      if (cmd == null) {
        continue; // another program (the build, cp, sudo, openssl): the docs-test runs only ours
      }
      ran++;
      List<String> args = new ArrayList<>(cmd.getValue());
      String where = b.page() + ":" + line.line() + ": `" + line.text() + "`";
      if (cmd.getKey() == Program.ISSUER && !args.isEmpty() && args.get(0).equals("serve")) {
        startServe(where, args);
        continue;
      }
      if (cmd.getKey() == Program.ISSUER && needsDir(args)) {
        // the docs run admin commands in the init directory; in-process, the test names it instead
        args.add("--dir");
        args.add(serveDir.toString());
      }
      Result r = cmd.getKey() == Program.ISSUER ? issuer(args) : agent(args);
      assertThat(r.code())
          .as("%s exited %d:%n%s%s", where, r.code(), r.out(), r.err())
          .isZero();
      assertThat(r.err()
              .lines()
              .filter(l -> l.startsWith("issuer: ") || l.startsWith("machineid-agent: ")))
          .as("%s printed an error line", where)
          .isEmpty();
      if (redirect != null) {
        Files.createDirectories(redirect.toAbsolutePath().getParent());
        Files.writeString(redirect, r.out());
      }
      learn(args, r);
      compareOutput(where, line.output().stream().map(DocsRunTest::substitute).toList(), r.out());
    }
    assertThat(ran)
        .as(
            "%s: no `issuer …` or agent command in this %s block; if it cannot run here, mark it "
                + "<!-- docs-test: skip (REASON) -->",
            b.where(), b.language())
        .isPositive();
  }

  private static boolean needsDir(List<String> args) {
    if (args.isEmpty()
        || args.contains("--dir")
        || args.contains("--help")
        || args.contains("--version")) {
      return false;
    }
    return !args.get(0).equals("init") && !args.get(0).equals("help");
  }

  private static void learn(List<String> args, Result r) {
    if (args.isEmpty()) {
      return;
    }
    Matcher pin = Pattern.compile("(sha256:[0-9a-f]{64})").matcher(r.out());
    if (args.get(0).equals("init") && pin.find()) {
      learnt.put("pin", pin.group(1));
      int dir = args.indexOf("--dir");
      if (dir >= 0 && !args.contains("--upgrade")) {
        serveDir = Path.of(args.get(dir + 1));
      }
    }
    Matcher token = Pattern.compile("The bot token: (\\S+)").matcher(r.out());
    if (args.get(0).equals("bots") && token.find()) {
      learnt.put("token", token.group(1));
    }
  }

  private static void startServe(String where, List<String> args) throws Exception {
    assertThat(serve).as("%s: the issuer is already serving", where).isNull();
    int c = args.indexOf("-c");
    assertThat(c).as("%s: serve names its issuer.yaml with -c", where).isNotNegative();
    Path dir = Path.of(args.get(c + 1)).getParent();
    List<String> all = new ArrayList<>(args);
    if (!all.contains("--listen")) {
      all.add("--listen");
      all.add("127.0.0.1:0");
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    serve = new Thread(
        () -> IssuerCli.run(
            all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true)),
        "docs-test-serve");
    serve.setDaemon(true);
    serve.start();
    Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
    Path url = dir.resolve("issuer.url");
    while (!Files.exists(url)) {
      assertThat(serve.isAlive()).as("%s stopped:%n%s%s", where, out, err).isTrue();
      assertThat(Instant.now())
          .as("%s wrote issuer.url within 30 s:%n%s%s", where, out, err)
          .isBefore(deadline);
      Thread.sleep(20); // polling a file the server writes, with a deadline
    }
    serveDir = dir;
    learnt.put("url", Files.readString(url).strip());
  }

  private static Result issuer(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = IssuerCli.run(
        args.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString(), err.toString());
  }

  private static Result agent(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = Agent.run(args.toArray(String[]::new), o, e);
    }
    return new Result(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /**
   * Each shown line must match a line of the output, in order; a word with a digit, {@code …} or {@code <…>}
   * matches any word, and a line ending in {@code  …} any rest of the line.
   */
  static void compareOutput(String where, List<String> shown, String actual) {
    List<String> lines = actual.lines().toList();
    int from = 0;
    for (String s : shown) {
      if (s.isBlank() || s.strip().equals("…")) {
        continue;
      }
      Pattern p = linePattern(s);
      int found = -1;
      for (int i = from; i < lines.size(); i++) {
        if (p.matcher(lines.get(i).strip()).matches()) {
          found = i;
          break;
        }
      }
      assertThat(found)
          .as(
              "%s: the output shown in the docs, line \"%s\", is not in the output (after line %d):%n%s",
              where, s, from, actual)
          .isNotNegative();
      from = found + 1;
    }
  }

  static Pattern linePattern(String shown) {
    String s = shown.strip();
    boolean rest = s.endsWith(" …");
    if (rest) {
      s = s.substring(0, s.length() - 2);
    }
    String p = Stream.of(s.split("\\s+"))
        .map(w -> w.matches(".*[0-9…].*") || w.matches("<[^>]+>.*") ? "\\S+" : Pattern.quote(w))
        .collect(Collectors.joining("\\s+"));
    return Pattern.compile(p + (rest ? "(\\s.*)?" : ""));
  }

  // ------------------------------------------------------------------ synopsis

  /**
   * A command reference ({@code issuer bots ls | rm NAME}, {@code [--ttl 1h]}): each command it names
   * exists, and each {@code --option} it shows is one that command takes, as its {@code --help} says.
   */
  private static void synopsis(Block b) {
    for (Line line : logicalLines(b)) {
      String where = b.page() + ":" + line.line() + ": `" + line.text() + "`";
      List<String> words = words(line.text().replace("[", " ").replace("]", " "));
      Map.Entry<Program, List<String>> cmd = ours(words);
      assertThat(cmd)
          .as("%s: a synopsis line names the issuer or the agent", where)
          .isNotNull();
      // `issuer bots ls | rm NAME`: the alternatives after the first share its command group
      List<List<String>> alternatives = new ArrayList<>();
      List<String> current = new ArrayList<>();
      for (String w : cmd.getValue()) {
        if (w.equals("|")) {
          alternatives.add(current);
          current = new ArrayList<>(List.of(cmd.getValue().get(0)));
        } else {
          current.add(w);
        }
      }
      alternatives.add(current);
      for (List<String> alt : alternatives) {
        List<String> command = new ArrayList<>();
        for (String w : alt) {
          if (!w.matches("[a-z][a-z-]*")) {
            break;
          }
          command.add(w);
        }
        List<String> help = new ArrayList<>(command);
        help.add("--help");
        Result r = cmd.getKey() == Program.ISSUER ? issuer(help) : agent(help);
        assertThat(r.code())
            .as("%s: `%s` is not a command: %s", where, String.join(" ", help), r.err())
            .isZero();
        for (String w : alt) {
          if (w.startsWith("--")) {
            String option = w.contains("=") ? w.substring(0, w.indexOf('=')) : w;
            assertThat(r.out())
                .as(
                    "%s: `%s` has no option %s; its options:%n%s",
                    where, String.join(" ", command), option, r.out())
                .containsPattern(Pattern.quote(option) + "\\b");
          }
        }
      }
    }
  }
}
