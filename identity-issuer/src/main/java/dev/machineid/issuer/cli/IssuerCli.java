package dev.machineid.issuer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.machineid.core.ConfigException;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.admin.AdminClient;
import dev.machineid.issuer.admin.AdminException;
import dev.machineid.issuer.internal.admin.AdminApi;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;

/**
 * {@code issuer}: the issuer's command line ({@code java -jar issuer.jar ...}). Commands that talk to
 * a running issuer find its address and the admin identity in the init directory (the working
 * directory, or {@code --dir}).
 */
@Command(
    name = "issuer",
    mixinStandardHelpOptions = true,
    versionProvider = IssuerCli.Version.class,
    description = "Runs and administers a machine identity issuer.",
    subcommands = {
      InitCommand.class,
      ServeCommand.class,
      StatusCommand.class,
      AdminCommands.Bots.class,
      AdminCommands.Tokens.class,
      AdminCommands.Roles.class,
      AdminCommands.Instances.class,
      AdminCommands.Locks.class,
      AdminCommands.Audit.class,
      AdminCommands.Sign.class,
      AuthoritiesCommand.class,
      AdminCommands.AdminIdentityCommand.class,
      AdminCommands.Admins.class
    })
public final class IssuerCli {
  /** Options every command that reads the init directory has. */
  static final class Common {
    @Option(
        names = "--dir",
        description = "The directory 'issuer init' made (default: the working directory).")
    Path dir = Path.of("");

    @Option(names = "--format", description = "table (default) or json.", defaultValue = "table")
    String format;

    @Option(
        names = "--server",
        description = "The issuer's https URL (default: from the init directory).")
    String server;

    InitDirectory init() {
      return InitDirectory.open(dir);
    }

    AdminClient client() {
      return init().client(server, Clock.systemUTC().instant());
    }

    boolean json() {
      if (!format.equals("json") && !format.equals("table")) {
        throw new CliException("--format must be table or json, got '" + format + "'");
      }
      return format.equals("json");
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"issuer " + AdminApi.version()};
    }
  }

  public static void main(String[] args) {
    System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command line; returns the exit code (0 success, 1 failure, 2 usage). */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = new CommandLine(new IssuerCli());
    addHelp(cl);
    cl.setOut(out);
    cl.setErr(err);
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      cmd.getErr().println("issuer: " + message(e));
      cmd.getErr().flush();
      // a mistake in a file the operator wrote is a usage error, like a mistyped option
      return e instanceof ConfigException ? 2 : 1;
    });
    int code = cl.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /**
   * {@code --help} on every command and a {@code help} command beside every group of commands, so
   * {@code issuer bots add --help}, {@code issuer help bots} and {@code issuer bots help add} all work.
   */
  private static void addHelp(CommandLine cl) {
    CommandSpec spec = cl.getCommandSpec();
    if (spec.options().stream().noneMatch(OptionSpec::usageHelp)) {
      spec.addOption(OptionSpec.builder("-h", "--help")
          .usageHelp(true)
          .description("Show this help message and exit.")
          .build());
    }
    List<CommandLine> children = new ArrayList<>(cl.getSubcommands().values());
    for (CommandLine child : children) {
      addHelp(child);
    }
    if (!children.isEmpty() && !cl.getSubcommands().containsKey("help")) {
      cl.addSubcommand("help", new CommandLine.HelpCommand());
    }
  }

  static String message(Throwable e) {
    if (e instanceof CliException || e instanceof AdminException || e instanceof ConfigException) {
      return e.getMessage();
    }
    String m = e.getMessage();
    return (m == null ? e.getClass().getSimpleName() : m).lines().findFirst().orElse("");
  }

  // ---- output

  static void printJson(PrintWriter out, JsonNode node) {
    try {
      out.println(
          Protocol.writer().with(SerializationFeature.INDENT_OUTPUT).writeValueAsString(node));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new CliException("cannot print JSON: " + e.getMessage());
    }
  }

  /** Prints {@code rows} as a table with {@code headers}, each column from a function of a row. */
  @SafeVarargs
  static void printTable(
      PrintWriter out, JsonNode rows, List<String> headers, Function<JsonNode, String>... columns) {
    List<String[]> lines = new ArrayList<>();
    lines.add(headers.toArray(String[]::new));
    for (JsonNode r : rows) {
      String[] l = new String[columns.length];
      for (int i = 0; i < columns.length; i++) {
        String v = columns[i].apply(r);
        // stored values may hold what a bot sent: never let one reach the terminal raw
        l[i] = v == null || v.isEmpty() ? "-" : dev.machineid.issuer.internal.Text.inert(v);
      }
      lines.add(l);
    }
    int[] width = new int[headers.size()];
    for (String[] l : lines) {
      for (int i = 0; i < l.length; i++) {
        width[i] = Math.max(width[i], l[i].length());
      }
    }
    for (String[] l : lines) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < l.length; i++) {
        sb.append(i == l.length - 1 ? l[i] : String.format("%-" + width[i] + "s  ", l[i]));
      }
      out.println(sb.toString().stripTrailing());
    }
  }

  static String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.isArray() || v.isObject() ? join(v) : v.asText();
  }

  static String join(JsonNode v) {
    if (v.isArray()) {
      List<String> s = new ArrayList<>();
      v.forEach(e -> s.add(e.asText()));
      return String.join(",", s);
    }
    List<String> s = new ArrayList<>();
    v.fields()
        .forEachRemaining(e -> s.add(e.getKey() + "="
            + (e.getValue().isArray() || e.getValue().isObject()
                ? join(e.getValue())
                : e.getValue().asText())));
    return String.join(" ", s);
  }
}
