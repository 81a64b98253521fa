package dev.machineid.issuer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.admin.AdminClient;
import dev.machineid.issuer.internal.IoReasons;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The commands that call {@code /v1/admin/...} on a running issuer. */
final class AdminCommands {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private AdminCommands() {}

  /** Base of an admin command: the init directory, the client, output. */
  abstract static class Base implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    IssuerCli.Common common;

    PrintWriter out() {
      return spec.commandLine().getOut();
    }

    AdminClient client() {
      return common.client();
    }

    @Override
    public Integer call() throws Exception {
      common.json();
      run();
      return 0;
    }

    abstract void run() throws Exception;

    /** Prints a created token: the secret (shown once) for 'token', the name for delegated methods. */
    void created(JsonNode r) {
      print(r, () -> {
        boolean secret = "token".equals(r.path("join_method").asText());
        out()
            .println(inert((secret ? "The join token: " : "Token '")
                + r.path("token").asText() + (secret ? "" : "'") + " for bot '"
                + r.path("bot").asText() + "' (" + r.path("join_method").asText() + "), expires at "
                + r.path("expires_at").asText() + "."));
      });
    }

    /** Prints JSON as JSON, or calls {@code table}. */
    void print(JsonNode node, Runnable table) {
      if (common.json()) {
        IssuerCli.printJson(out(), node);
      } else {
        table.run();
      }
    }
  }

  /** Stored text as the terminal may show it: control characters escaped. */
  static String inert(String s) {
    return dev.machineid.issuer.internal.Text.inert(s);
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Reads a YAML (or JSON) resource file as one document. */
  static JsonNode readResource(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new CliException("cannot read " + file + ": " + IoReasons.file(file, e));
    }
    JsonNode node;
    try {
      node = YAML.readTree(text);
    } catch (IOException e) {
      throw new CliException("cannot parse " + file + " as YAML: "
          + e.getMessage().lines().findFirst().orElse(""));
    }
    if (node == null || !node.isObject()) {
      throw new CliException(
          file + " must hold one YAML mapping (a resource with kind, version, metadata and spec)");
    }
    // YAML reads an unquoted 2026-12-01T00:00:00Z as text already; normalise everything through
    // JSON
    return Protocol.toTree(node);
  }

  // ------------------------------------------------------------------ bots

  @Command(
      name = "bots",
      description = "Manages bots.",
      subcommands = {Bots.Add.class, Bots.Ls.class, Bots.Update.class, Bots.Rm.class})
  static final class Bots {
    @Command(
        name = "add",
        description =
            "Creates a bot and prints its join token, the CA pin and an agent configuration.")
    static final class Add extends Base {
      @Parameters(index = "0", description = "Bot name.")
      String name;

      @Option(
          names = "--roles",
          split = ",",
          description = "Roles, comma-separated (each must exist).")
      List<String> roles = List.of();

      @Option(
          names = "--logins",
          split = ",",
          description = "SSH logins: the bot's 'logins' trait.")
      List<String> logins = List.of();

      @Option(
          names = "--ttl",
          defaultValue = "1h",
          description = "Lifetime of the join token (default: ${DEFAULT-VALUE}).")
      String ttl;

      @Override
      void run() {
        ObjectNode req = Protocol.nodes().objectNode().put("name", name).put("token_ttl", ttl);
        roles.forEach(req.putArray("roles")::add);
        logins.forEach(req.putArray("logins")::add);
        JsonNode r = client().post("bots", req);
        print(r, () -> {
          PrintWriter o = out();
          o.println("The bot token: " + r.get("token").asText());
          o.println("This token expires at " + r.get("token_expires_at").asText()
              + " and can be used once.");
          o.println("CA pin: " + r.get("ca_pin").asText());
          o.println();
          o.println("Agent configuration (agent.yaml):");
          o.println();
          o.print(agentYaml(
              r.get("issuer").asText(), r.get("token").asText(), r.get("ca_pin").asText(), name));
        });
      }
    }

    @Command(name = "ls", description = "Lists bots.")
    static final class Ls extends Base {
      @Override
      void run() {
        JsonNode r = client().get("bots", Map.of());
        print(
            r,
            () -> IssuerCli.printTable(
                out(),
                r,
                List.of("NAME", "ROLES", "TRAITS", "CREATED"),
                n -> IssuerCli.text(n, "name"),
                n -> IssuerCli.text(n, "roles"),
                n -> IssuerCli.text(n, "traits"),
                n -> IssuerCli.text(n, "created_at")));
      }
    }

    @Command(
        name = "update",
        description =
            "Changes a bot's roles, logins or traits; its instances and tokens stay, and its next credentials follow the change.")
    static final class Update extends Base {
      @Parameters(index = "0", description = "Bot name.")
      String name;

      @Option(
          names = "--roles",
          split = ",",
          description = "Roles, comma-separated (each must exist); replaces the bot's roles.")
      List<String> roles;

      @Option(
          names = "--logins",
          split = ",",
          description = "SSH logins (the 'logins' trait); replaces them, '--logins=' removes them.")
      List<String> logins;

      @Option(
          names = "--trait",
          description =
              "A trait KEY=V1,V2 (repeatable); the traits given replace every trait but the logins.")
      Map<String, String> traits;

      @Override
      void run() {
        if (roles == null && logins == null && traits == null) {
          throw new CliException("nothing to change: give --roles, --logins or --trait");
        }
        ObjectNode req = Protocol.nodes().objectNode();
        if (roles != null) {
          roles.stream().filter(x -> !x.isBlank()).forEach(req.putArray("roles")::add);
        }
        if (logins != null) {
          logins.stream().filter(x -> !x.isBlank()).forEach(req.putArray("logins")::add);
        }
        if (traits != null) {
          ObjectNode t = req.putObject("traits");
          traits.forEach((k, v) -> {
            com.fasterxml.jackson.databind.node.ArrayNode a = t.putArray(k);
            for (String x : v.split(",")) {
              if (!x.isBlank()) {
                a.add(x);
              }
            }
          });
        }
        JsonNode r = client().patch("bots/" + enc(name), req);
        print(r, () -> out()
            .println("Bot '" + name + "' updated: roles " + IssuerCli.text(r, "roles") + "; traits "
                + IssuerCli.text(r, "traits") + "."));
      }
    }

    @Command(
        name = "rm",
        description =
            "Deletes a bot with its instances and tokens: its certificates and unused tokens are refused from now on.")
    static final class Rm extends Base {
      @Parameters(index = "0", description = "Bot name.")
      String name;

      @Override
      void run() {
        client().delete("bots/" + enc(name));
        out().println("Bot '" + name + "' deleted.");
      }
    }
  }

  /** An agent configuration in the shape of docs/architecture.md §10. */
  static String agentYaml(String issuer, String token, String pin, String bot) {
    return """
        version: v1
        issuer: %s
        onboarding:
          join_method: token
          token: %s
          ca_pins: ["%s"]
        storage: {type: directory, path: /var/lib/machineid/%s}
        credential_ttl: 1h
        renewal_interval: 20m
        outputs:
          - type: identity
            destination: {type: directory, path: /opt/machine-id/%s}
        """
        .formatted(issuer, token, pin, bot, bot);
  }

  // ------------------------------------------------------------------ tokens

  @Command(
      name = "tokens",
      description = "Manages join tokens.",
      subcommands = {Tokens.Add.class, Tokens.Create.class, Tokens.Ls.class, Tokens.Rm.class})
  static final class Tokens {
    @Command(name = "add", description = "Creates a join token for a bot.")
    static final class Add extends Base {
      @Option(
          names = "--bot",
          required = true,
          description = "The bot a join with this token becomes.")
      String bot;

      @Option(
          names = "--join-method",
          defaultValue = "token",
          description = "Join method (default: ${DEFAULT-VALUE}).")
      String method;

      @Option(
          names = "--ttl",
          defaultValue = "1h",
          description = "Lifetime (default: ${DEFAULT-VALUE}).")
      String ttl;

      @Option(
          names = "--name",
          description =
              "Token name (required for delegated methods; the secret itself for 'token').")
      String name;

      @Option(
          names = "--rules",
          description =
              "YAML file with the join method's block, e.g. 'allow: [{repository: acme/app}]'.")
      Path rules;

      @Override
      void run() {
        ObjectNode res = Protocol.nodes().objectNode().put("kind", "token").put("version", "v1");
        ObjectNode md = res.putObject("metadata");
        if (name != null) {
          md.put("name", name);
        } else if (!method.equals("token")) {
          md.put("name", bot + "-" + method);
        }
        ObjectNode spec = res.putObject("spec")
            .put("bot_name", bot)
            .put("join_method", method)
            .put("ttl", ttl);
        if (rules != null) {
          spec.set(method, readResourceBlock(rules));
        }
        created(client().post("tokens", res));
      }
    }

    @Command(name = "create", description = "Creates a join token from a token resource file.")
    static final class Create extends Base {
      @Option(
          names = {"-f", "--file"},
          required = true,
          description = "token.yaml")
      Path file;

      @Override
      void run() {
        created(client().post("tokens", readResource(file)));
      }
    }

    @Command(name = "ls", description = "Lists join tokens (never their secrets).")
    static final class Ls extends Base {
      @Override
      void run() {
        JsonNode r = client().get("tokens", Map.of());
        print(
            r,
            () -> IssuerCli.printTable(
                out(),
                r,
                List.of("ID", "NAME", "BOT", "METHOD", "EXPIRES", "CONSUMED"),
                n -> IssuerCli.text(n, "short_id"),
                n -> IssuerCli.text(n, "name"),
                n -> IssuerCli.text(n, "bot"),
                n -> IssuerCli.text(n, "join_method"),
                n -> IssuerCli.text(n, "expires_at"),
                n -> IssuerCli.text(n, "consumed_at")));
      }
    }

    @Command(
        name = "rm",
        description = "Deletes a join token by id (or unique id prefix), name or secret.")
    static final class Rm extends Base {
      @Parameters(index = "0", description = "Token id, name or secret.")
      String ref;

      @Override
      void run() {
        client().delete("tokens/" + enc(ref));
        out().println("Token deleted.");
      }
    }

    static JsonNode readResourceBlock(Path file) {
      return readResource(file);
    }
  }

  // ------------------------------------------------------------------ roles

  @Command(
      name = "roles",
      description = "Manages roles.",
      subcommands = {Roles.Create.class, Roles.Ls.class, Roles.Update.class, Roles.Rm.class})
  static final class Roles {
    @Command(name = "create", description = "Creates a role from a role resource file.")
    static final class Create extends Base {
      @Option(
          names = {"-f", "--file"},
          required = true,
          description = "role.yaml")
      Path file;

      @Override
      void run() {
        JsonNode r = client().post("roles", readResource(file));
        print(r, () -> out()
            .println("Role '" + r.path("metadata").path("name").asText() + "' created."));
      }
    }

    @Command(
        name = "update",
        description =
            "Replaces a role by the role resource file of the same name; the next credentials of the bots holding it follow it.")
    static final class Update extends Base {
      @Option(
          names = {"-f", "--file"},
          required = true,
          description = "role.yaml")
      Path file;

      @Override
      void run() {
        JsonNode resource = readResource(file);
        String name = resource.path("metadata").path("name").asText("");
        if (name.isEmpty()) {
          throw new CliException(file + ": metadata.name is missing; it names the role to update");
        }
        JsonNode r = client().put("roles/" + enc(name), resource);
        print(r, () -> out().println("Role '" + name + "' updated."));
      }
    }

    @Command(name = "ls", description = "Lists roles.")
    static final class Ls extends Base {
      @Override
      void run() {
        JsonNode r = client().get("roles", Map.of());
        print(
            r,
            () -> IssuerCli.printTable(
                out(),
                r,
                List.of("NAME", "LOGINS", "DB USERS", "K8S GROUPS", "MAX TTL"),
                n -> n.path("metadata").path("name").asText(),
                n -> IssuerCli.text(n.path("spec").path("allow"), "logins"),
                n -> IssuerCli.text(n.path("spec").path("allow"), "db_users"),
                n -> IssuerCli.text(n.path("spec").path("allow"), "kubernetes_groups"),
                n -> n.path("spec").path("options").path("max_ttl").asText("")));
      }
    }

    @Command(
        name = "rm",
        description = "Deletes a role; refused while bots hold it, unless --force.")
    static final class Rm extends Base {
      @Parameters(index = "0")
      String name;

      @Option(
          names = "--force",
          description =
              "Delete it although bots hold it (their next credentials lose what it granted).")
      boolean force;

      @Override
      void run() {
        AdminClient c = client();
        if (!force) {
          List<String> holders = new ArrayList<>();
          for (JsonNode b : c.get("bots", Map.of())) {
            for (JsonNode role : b.path("roles")) {
              if (name.equals(role.asText())) {
                holders.add(b.path("name").asText());
              }
            }
          }
          if (!holders.isEmpty()) {
            throw new CliException(
                "role '" + name + "' is held by bot" + (holders.size() == 1 ? " " : "s ")
                    + String.join(", ", holders) + "; pass --force to delete it anyway");
          }
        }
        c.delete("roles/" + enc(name));
        out().println("Role '" + name + "' deleted.");
      }
    }
  }

  // ------------------------------------------------------------------ instances

  @Command(
      name = "instances",
      description = "Shows bot instances.",
      subcommands = {Instances.Ls.class, Instances.Show.class})
  static final class Instances {
    @Command(name = "ls", description = "Lists bot instances.")
    static final class Ls extends Base {
      @Option(names = "--bot", description = "Only this bot's instances.")
      String bot;

      @Override
      void run() {
        Map<String, String> q = new LinkedHashMap<>();
        q.put("bot", bot);
        JsonNode r = client().get("instances", q);
        print(
            r,
            () -> IssuerCli.printTable(
                out(),
                r,
                List.of("BOT/ID", "METHOD", "GEN", "JOINED", "LATEST AUTH", "HEARTBEAT", "LOCKED"),
                n -> n.path("bot").asText() + "/" + n.path("id").asText(),
                n -> IssuerCli.text(n, "join_method"),
                n -> IssuerCli.text(n, "generation"),
                n -> IssuerCli.text(n, "created_at"),
                n -> n.path("latest_authentication").path("time").asText(""),
                n -> n.path("latest_heartbeat").path("received_at").asText(""),
                n -> n.path("locked").asBoolean() ? "yes" : "no"));
      }
    }

    @Command(
        name = "show",
        description = "Shows one instance: initial and latest authentication, latest heartbeat.")
    static final class Show extends Base {
      @Parameters(
          index = "0",
          description =
              "BOT/ID as 'issuer instances ls' prints it, or a unique prefix of the ID (BOT/PREFIX or PREFIX)")
      String ref;

      @Override
      void run() {
        AdminClient c = client();
        JsonNode found = resolve(c, ref);
        JsonNode r = c.get(
            "instances/" + enc(found.path("bot").asText()) + "/"
                + enc(found.path("id").asText()),
            Map.of());
        print(r, () -> {
          PrintWriter o = out();
          o.println(
              inert("Instance:   " + r.path("bot").asText() + "/" + r.path("id").asText()));
          o.println(inert("Method:     " + r.path("join_method").asText()));
          o.println(inert("Generation: " + r.path("generation").asText()));
          o.println(inert("Locked:     " + (r.path("locked").asBoolean() ? "yes" : "no")));
          o.println(inert("Initial:    " + auth(r.path("initial_authentication"))));
          o.println(inert("Latest:     " + auth(r.path("latest_authentication"))));
          JsonNode h = r.path("latest_heartbeat");
          o.println(inert("Heartbeat:  "
              + (h.isMissingNode() || h.isNull()
                  ? "none"
                  : h.path("received_at").asText() + " host "
                      + h.path("hostname").asText() + " version "
                      + h.path("version").asText() + " uptime "
                      + h.path("uptime_seconds").asText() + "s"
                      + (h.path("outputs").isEmpty()
                          ? ""
                          : " outputs " + IssuerCli.join(h.path("outputs"))))));
        });
      }

      /** The one instance whose id starts with the given prefix (of one bot, when BOT/ is given). */
      static JsonNode resolve(AdminClient c, String ref) {
        int slash = ref.indexOf('/');
        String bot = slash < 0 ? null : ref.substring(0, slash);
        String prefix = slash < 0 ? ref : ref.substring(slash + 1);
        if (prefix.isEmpty() || (bot != null && bot.isEmpty())) {
          throw new CliException(
              "give the instance as BOT/ID or a unique prefix of its ID, as 'issuer instances ls' prints it");
        }
        Map<String, String> q = new LinkedHashMap<>();
        q.put("bot", bot);
        List<JsonNode> matches = new ArrayList<>();
        for (JsonNode i : c.get("instances", q)) {
          String id = i.path("id").asText();
          if (id.equals(prefix)) {
            return i;
          }
          if (id.startsWith(prefix)) {
            matches.add(i);
          }
        }
        if (matches.isEmpty()) {
          throw new CliException("no instance " + (bot == null ? "" : "of bot '" + bot + "' ")
              + "has an ID starting with '" + prefix
              + "'; give BOT/ID or a unique prefix of the ID, as 'issuer instances ls' prints it");
        }
        if (matches.size() > 1) {
          throw new CliException("'" + prefix + "' matches " + matches.size() + " instances ("
              + String.join(
                  ", ",
                  matches.stream()
                      .map(m -> m.path("bot").asText() + "/" + m.path("id").asText())
                      .toList())
              + "); give more of the ID");
        }
        return matches.get(0);
      }

      private static String auth(JsonNode a) {
        return a.path("time").asText() + " from " + a.path("remote_address").asText()
            + " generation " + a.path("generation").asText()
            + (a.path("metadata").isEmpty() ? "" : " " + IssuerCli.join(a.path("metadata")));
      }
    }
  }

  // ------------------------------------------------------------------ locks

  @Command(
      name = "locks",
      description = "Manages locks.",
      subcommands = {Locks.Add.class, Locks.Ls.class, Locks.Rm.class})
  static final class Locks {
    static final class Target {
      @Option(names = "--bot")
      String bot;

      @Option(names = "--instance")
      String instance;

      @Option(names = "--token")
      String token;

      @Option(
          names = "--identity",
          description = "An attested identity (AWS ARN, repository, service account).")
      String identity;

      @Option(names = "--serial", description = "A certificate serial (hex).")
      String serial;
    }

    @Command(
        name = "add",
        description =
            "Locks a bot, an instance, a token, an attested identity or a certificate serial.")
    static final class Add extends Base {
      @ArgGroup(exclusive = true, multiplicity = "1")
      Target target;

      @Option(names = "--reason", defaultValue = "locked by an admin")
      String reason;

      @Option(names = "--ttl", description = "Lock expires after this long (default: never).")
      String ttl;

      @Override
      void run() {
        String[] tv = target.bot != null
            ? new String[] {"bot", target.bot}
            : target.instance != null
                ? new String[] {"instance", target.instance}
                : target.token != null
                    ? new String[] {"token", target.token}
                    : target.identity != null
                        ? new String[] {"identity", target.identity}
                        : new String[] {"serial", target.serial};
        ObjectNode req = Protocol.nodes()
            .objectNode()
            .put("target", tv[0])
            .put("value", tv[1])
            .put("reason", reason);
        if (ttl != null) {
          req.put("ttl", ttl);
        }
        JsonNode r = client().post("locks", req);
        print(r, () -> out()
            .println("Lock " + r.path("id").asText() + " on " + tv[0] + " " + tv[1] + " created."));
      }
    }

    @Command(name = "ls", description = "Lists locks.")
    static final class Ls extends Base {
      @Override
      void run() {
        JsonNode r = client().get("locks", Map.of());
        print(
            r,
            () -> IssuerCli.printTable(
                out(),
                r,
                List.of("ID", "TARGET", "VALUE", "REASON", "EXPIRES", "ACTIVE"),
                n -> IssuerCli.text(n, "id"),
                n -> IssuerCli.text(n, "target"),
                n -> IssuerCli.text(n, "value"),
                n -> IssuerCli.text(n, "reason"),
                n -> IssuerCli.text(n, "expires_at"),
                n -> n.path("active").asBoolean() ? "yes" : "no"));
      }
    }

    @Command(name = "rm", description = "Removes a lock.")
    static final class Rm extends Base {
      @Parameters(index = "0", description = "Lock id.")
      String id;

      @Override
      void run() {
        client().delete("locks/" + enc(id));
        out().println("Lock " + id + " removed.");
      }
    }
  }

  // ------------------------------------------------------------------ sign

  @Command(
      name = "sign",
      description =
          "Signs a database server or SSH host certificate for a public key (issuer sign).")
  static final class Sign extends Base {
    @Option(names = "--kind", required = true, description = "database_server or ssh_host.")
    String kind;

    @Option(
        names = "--host-names",
        required = true,
        split = ",",
        description = "Host names or addresses the certificate names.")
    List<String> hostNames;

    @Option(
        names = "--public-key",
        required = true,
        description = "PEM public key (database_server) or OpenSSH .pub file (ssh_host).")
    Path publicKey;

    @Option(
        names = "--out",
        required = true,
        description = "Directory for the certificate and the CA the target must trust.")
    Path out;

    @Option(
        names = "--ttl",
        defaultValue = "720h",
        description = "Certificate lifetime (default ${DEFAULT-VALUE}).")
    String ttl;

    @Override
    void run() throws IOException {
      String key;
      try {
        key = Files.readString(publicKey).trim();
      } catch (IOException e) {
        throw new CliException("cannot read " + publicKey + ": " + IoReasons.file(publicKey, e));
      }
      ObjectNode req = Protocol.nodes().objectNode().put("kind", kind).put("ttl", ttl);
      ArrayNode hosts = req.putArray("host_names");
      hostNames.forEach(hosts::add);
      switch (kind) {
        case "database_server" -> req.put("public_key", key + "\n");
        case "ssh_host" -> req.put("ssh_public_key", key);
        default ->
          throw new CliException("--kind must be database_server or ssh_host, not '" + kind + "'");
      }
      JsonNode r = client().post("sign", req);
      Files.createDirectories(out);
      if (kind.equals("database_server")) {
        StringBuilder chain = new StringBuilder();
        r.path("certificate_chain").forEach(c -> chain.append(c.asText()));
        Files.writeString(out.resolve("server.crt"), chain.toString());
        Files.writeString(out.resolve("client-ca.crt"), r.path("client_ca").asText());
        print(r, () -> out()
            .println("Wrote " + out.resolve("server.crt") + " (valid until "
                + r.path("not_after").asText() + ") and " + out.resolve("client-ca.crt")
                + " (ssl_ca_file: the authority of database client certificates)."));
      } else {
        Files.writeString(
            out.resolve("host-cert.pub"), r.path("ssh_certificate").asText() + "\n");
        Files.writeString(out.resolve("user-ca.pub"), r.path("user_ca").asText() + "\n");
        print(r, () -> out()
            .println("Wrote " + out.resolve("host-cert.pub") + " (HostCertificate) and "
                + out.resolve("user-ca.pub") + " (TrustedUserCAKeys)."));
      }
    }
  }

  // ------------------------------------------------------------------ audit

  @Command(
      name = "audit",
      description = "Shows audit events.",
      subcommands = {Audit.Verify.class, Audit.Prune.class})
  static final class Audit extends Base {
    @Option(
        names = "--since",
        description = "RFC 3339 time, or a duration such as 1h (that long ago).")
    String since;

    @Option(
        names = "--type",
        description = "Event type, e.g. join or bot (matches bot.created, bot.deleted).")
    String type;

    @Option(names = "--bot")
    String bot;

    @Option(names = "--limit", description = "At most this many, the newest (default 1000).")
    Integer limit;

    @Override
    void run() {
      Map<String, String> q = new LinkedHashMap<>();
      q.put("since", since);
      q.put("type", type);
      q.put("bot", bot);
      q.put("limit", limit == null ? null : limit.toString());
      JsonNode r = client().get("audit", q);
      print(
          r,
          () -> IssuerCli.printTable(
              out(),
              r,
              List.of("TIME", "TYPE", "OUTCOME", "BOT", "INSTANCE", "DETAIL"),
              n -> IssuerCli.text(n, "time"),
              n -> IssuerCli.text(n, "type"),
              n -> IssuerCli.text(n, "outcome"),
              n -> IssuerCli.text(n, "bot"),
              n -> IssuerCli.text(n, "instance_id"),
              n -> IssuerCli.text(n, "detail")));
    }

    @Command(
        name = "verify",
        description =
            "Checks the audit hash chain on the server and prints its head (SEQ:HASH) to pin.")
    static final class Verify extends Base {
      @Option(
          names = "--pin",
          description =
              "SEQ:HASH of a head printed by an earlier verification: also checks that the chain still holds it (detects a rewound head).")
      String pin;

      @Override
      void run() {
        JsonNode r = client()
            .post(
                "audit/verify" + (pin == null ? "" : "?pin=" + enc(pin)),
                Protocol.nodes().objectNode());
        boolean ok = r.path("intact").asBoolean(false);
        String head =
            r.path("head_sequence").asText() + ":" + r.path("head_hash").asText();
        print(r, () -> out()
            .println(inert(
                ok
                    ? "Audit chain intact: " + r.path("rows_checked").asText()
                        + " events checked (from row "
                        + (r.path("anchor_sequence").asLong() + 1) + "); head " + head
                        + " (keep it elsewhere and pass it as --pin later)."
                    : "Audit chain broken at sequence "
                        + r.path("broken_sequence").asText() + ": "
                        + r.path("problem").asText())));
        if (!ok) {
          throw new CliException("the audit chain does not verify: broken at sequence "
              + r.path("broken_sequence").asText() + " ("
              + inert(r.path("problem").asText()) + ")");
        }
      }
    }

    @Command(
        name = "prune",
        description =
            "Audit retention: removes the events older than --before from the front of the chain, keeping it verifiable.")
    static final class Prune extends Base {
      @Option(
          names = "--before",
          required = true,
          description = "RFC 3339 time, or a duration such as 2160h (that long ago).")
      String before;

      @Override
      void run() {
        JsonNode r =
            client().post("audit/prune", Protocol.nodes().objectNode().put("before", before));
        print(r, () -> out()
            .println("Removed " + r.path("removed").asText()
                + " audit events; the chain still verifies from its new anchor."));
      }
    }
  }

  // ------------------------------------------------------------------ admin identity

  @Command(
      name = "admin",
      description = "Renews the admin identity.",
      subcommands = {AdminIdentityCommand.Renew.class, AdminIdentityCommand.Reissue.class})
  static final class AdminIdentityCommand {
    @Command(
        name = "renew",
        description = "Renews the admin certificate through the running issuer.")
    static final class Renew extends Base {
      @Option(names = "--ttl", defaultValue = "12h")
      String ttl;

      @Override
      void run() {
        InitDirectory init = common.init();
        KeyPair kp = CertificateAuthority.newP256(new SecureRandom());
        JsonNode r = client()
            .post(
                "renew",
                Protocol.nodes()
                    .objectNode()
                    .put("public_key", Pem.encode(kp.getPublic()))
                    .put("ttl", ttl));
        X509Certificate leaf =
            Pem.certificate(r.path("certificate_chain").get(0).asText());
        InitDirectory.writeAdmin(init.config.adminDir(), kp.getPrivate(), leaf, init.authority());
        print(r, () -> out()
            .println("Admin certificate renewed until " + leaf.getNotAfter().toInstant() + "."));
      }
    }

    @Command(
        name = "reissue",
        description =
            "Signs a new admin certificate with the authority key in the init directory (no server needed).")
    static final class Reissue extends Base {
      @Option(names = "--ttl", defaultValue = "12h")
      String ttl;

      @Override
      void run() {
        InitDirectory init = common.init();
        String name = init.config.admins().get(0);
        X509Certificate c =
            init.reissueAdmin(name, ServeCommand.duration(ttl, "--ttl"), Instant.now());
        out()
            .println("Admin certificate for '" + name + "' issued until "
                + c.getNotAfter().toInstant() + ".");
      }
    }
  }

  // ------------------------------------------------------------------ admins

  @Command(
      name = "admins",
      description = "Shows and changes who may administer the issuer.",
      subcommands = {Admins.Ls.class, Admins.Sync.class, Admins.Rm.class})
  static final class Admins {
    @Command(name = "ls", description = "Lists the admins recorded in the store.")
    static final class Ls extends Base {
      @Override
      void run() {
        JsonNode r = client().get("admins", Map.of());
        print(
            r,
            () -> IssuerCli.printTable(
                out(),
                r,
                List.of("NAME", "RECORDED"),
                n -> IssuerCli.text(n, "name"),
                n -> IssuerCli.text(n, "created_at")));
      }
    }

    @Command(
        name = "sync",
        description =
            "Makes the recorded admins exactly 'admins:' of issuer.yaml, at once (serve does it at every start).")
    static final class Sync extends Base {
      @Override
      void run() {
        ObjectNode req = Protocol.nodes().objectNode();
        common.init().config.admins().forEach(req.putArray("names")::add);
        JsonNode r = client().put("admins", req);
        print(r, () -> out()
            .println("Admins added: " + orNone(IssuerCli.text(r, "added")) + "; removed: "
                + orNone(IssuerCli.text(r, "removed")) + "."));
      }

      private static String orNone(String s) {
        return s == null || s.isEmpty() ? "none" : s;
      }
    }

    @Command(
        name = "rm",
        description =
            "Removes an admin at once: its certificates are refused from now on. Remove it from 'admins:' in issuer.yaml too, or the next start records it again.")
    static final class Rm extends Base {
      @Parameters(index = "0", description = "Admin name.")
      String name;

      @Override
      void run() {
        client().delete("admins/" + enc(name));
        out()
            .println(
                "Admin '" + name
                    + "' removed; remove it from 'admins:' in issuer.yaml too, or the next start records it again.");
      }
    }
  }

  static ArrayNode array() {
    return Protocol.nodes().arrayNode();
  }
}
