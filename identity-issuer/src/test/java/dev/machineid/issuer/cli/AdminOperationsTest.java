package dev.machineid.issuer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Administration an operator expects, against a real {@code serve} started in-process. */
class AdminOperationsTest {
  @TempDir
  static Path tmp;

  static Path dir;
  static Thread serve;

  record Result(int code, String out, String err) {
    JsonNode json() {
      try {
        return Protocol.reader().readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + out + " / " + err, e);
      }
    }
  }

  static Result admin(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--dir";
    all[args.length + 1] = dir.toString();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = IssuerCli.run(all, new PrintWriter(out), new PrintWriter(err));
    return new Result(code, out.toString(), err.toString());
  }

  static Result ok(Result r) {
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    return r;
  }

  static String fails(Result r) {
    assertThat(r.code()).as(r.out() + r.err()).isNotZero();
    assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
    return r.err().strip();
  }

  @BeforeAll
  static void initAndServe() throws Exception {
    dir = tmp.resolve("issuer");
    StringWriter sink = new StringWriter();
    assertThat(IssuerCli.run(
            new String[] {"init", "--dir", dir.toString(), "--listen", "127.0.0.1:0"},
            new PrintWriter(sink),
            new PrintWriter(sink)))
        .as(sink.toString())
        .isZero();
    Path yaml = dir.resolve("issuer.yaml");
    Files.writeString(
        yaml, Files.readString(yaml).replace("shutdown_grace: 5s", "shutdown_grace: 0s"));
    serve = new Thread(
        () -> IssuerCli.run(
            new String[] {"serve", "-c", yaml.toString()},
            new PrintWriter(new StringWriter()),
            new PrintWriter(new StringWriter())),
        "admin-ops-serve");
    serve.setDaemon(true);
    serve.start();
    Instant deadline = Instant.now().plusSeconds(60);
    while (!Files.exists(dir.resolve("issuer.url"))) {
      assertThat(serve.isAlive()).as("serve is running").isTrue();
      assertThat(Instant.now()).as("serve wrote issuer.url").isBefore(deadline);
      Thread.sleep(20); // polling a file the server writes, with a deadline
    }
  }

  @AfterAll
  static void stopServe() throws Exception {
    serve.interrupt();
    serve.join(20_000);
  }

  private static Identity join(String bot) throws IOException {
    String out = ok(admin("bots", "add", bot)).out();
    String token = out.lines()
        .filter(l -> l.startsWith("The bot token: "))
        .findFirst()
        .orElseThrow()
        .substring("The bot token: ".length())
        .strip();
    String pin = out.lines()
        .filter(l -> l.startsWith("CA pin: "))
        .findFirst()
        .orElseThrow()
        .substring("CA pin: ".length())
        .strip();
    URI url = URI.create(Files.readString(dir.resolve("issuer.url")).strip());
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(url)
        .caPins(pin)
        .token(token)
        .startTimeout(Duration.ofSeconds(60))
        .build()) {
      return id.start();
    }
  }

  @Test
  void rolesRmRefusesWhileBotsUseTheRole() throws IOException {
    Path role = tmp.resolve("held.yaml");
    Files.writeString(
        role, "kind: role\nmetadata: {name: held}\nspec:\n  allow:\n    logins: [deploy]\n");
    ok(admin("roles", "create", "-f", role.toString()));
    ok(admin("bots", "add", "holder-one", "--roles=held"));
    ok(admin("bots", "add", "holder-two", "--roles=held"));

    assertThat(fails(admin("roles", "rm", "held")))
        .contains("role 'held' is held by bots holder-one, holder-two")
        .contains("--force");
    assertThat(ok(admin("roles", "ls", "--format", "json")).out()).contains("\"held\"");

    assertThat(ok(admin("roles", "rm", "held", "--force")).out()).contains("Role 'held' deleted.");
    assertThat(ok(admin("roles", "ls", "--format", "json")).out()).doesNotContain("\"held\"");

    Files.writeString(
        role, "kind: role\nmetadata: {name: unheld}\nspec:\n  allow:\n    logins: [deploy]\n");
    ok(admin("roles", "create", "-f", role.toString()));
    ok(admin("roles", "rm", "unheld"));
  }

  @Test
  void instancesShowAcceptsAUniquePrefix() throws IOException {
    Identity first = join("prefixed");
    Identity second = join("prefixed-too");
    String id = first.instanceId();
    String prefix = id.substring(0, 8);
    String otherPrefix = second.instanceId().substring(0, 8);
    if (prefix.equals(otherPrefix)) {
      prefix = id.substring(0, 16);
    }

    assertThat(ok(admin("instances", "show", prefix)).out()).contains("Instance:   prefixed/" + id);
    assertThat(ok(admin("instances", "show", "prefixed/" + prefix)).out())
        .contains("Instance:   prefixed/" + id);
    assertThat(ok(admin("instances", "show", "prefixed/" + id, "--format", "json"))
            .json()
            .path("id")
            .asText())
        .isEqualTo(id);

    assertThat(fails(admin("instances", "show", "prefixed-too/" + prefix)))
        .contains("no instance of bot 'prefixed-too' has an ID starting with");
    // a prefix both share is ambiguous (the empty common prefix is refused as a usage mistake)
    int common = 0;
    while (common < id.length() && id.charAt(common) == second.instanceId().charAt(common)) {
      common++;
    }
    if (common > 0) {
      assertThat(fails(admin("instances", "show", id.substring(0, common))))
          .contains("matches 2 instances");
    }
    assertThat(fails(admin("instances", "show", "prefixed/")))
        .contains("give the instance as BOT/ID");
  }

  @Test
  void auditByBotIncludesRefusedJoins() throws IOException {
    String out = ok(admin("bots", "add", "audited")).out();
    String token = out.lines()
        .filter(l -> l.startsWith("The bot token: "))
        .findFirst()
        .orElseThrow()
        .substring("The bot token: ".length())
        .strip();
    String pin = out.lines()
        .filter(l -> l.startsWith("CA pin: "))
        .findFirst()
        .orElseThrow()
        .substring("CA pin: ".length())
        .strip();
    URI url = URI.create(Files.readString(dir.resolve("issuer.url")).strip());
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(url)
        .caPins(pin)
        .token(token)
        .startTimeout(Duration.ofSeconds(60))
        .build()) {
      id.start();
    }
    // the same token again: refused as consumed
    try (MachineIdentity again = MachineIdentity.builder()
        .issuer(url)
        .caPins(pin)
        .token(token)
        .startTimeout(Duration.ofSeconds(20))
        .build()) {
      org.assertj.core.api.Assertions.assertThatThrownBy(again::start)
          .isInstanceOf(dev.machineid.core.IdentityException.class);
    }
    JsonNode events = ok(admin("audit", "--bot", "audited", "--type", "join", "--format", "json"))
        .json();
    java.util.List<JsonNode> joins = new java.util.ArrayList<>();
    events.forEach(joins::add);
    assertThat(joins).anySatisfy(e -> assertThat(e.path("outcome").asText()).isEqualTo("success"));
    assertThat(joins).anySatisfy(e -> {
      assertThat(e.path("outcome").asText()).isEqualTo("failure");
      assertThat(e.path("detail").path("code").asText()).isEqualTo("token_consumed");
    });
  }

  @Test
  void authoritiesExportPrintsEachKindAsItsTargetReadsIt() throws Exception {
    String kube =
        ok(admin("authorities", "export", "--kind", "kubernetes_client")).out();
    X509Certificate ca = Pem.certificate(kube);
    assertThat(ca.getSubjectX500Principal().getName()).contains("Kubernetes client authority");
    assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(ok(admin("authorities", "export", "--kind", "ssh_user")).out())
        .startsWith("ssh-ed25519 ");
    assertThat(Pem.certificate(
                ok(admin("authorities", "export", "--kind", "database_client")).out())
            .getSubjectX500Principal()
            .getName())
        .contains("database client authority");
    assertThat(ok(admin("authorities", "export", "--kind", "jwks"))
            .json()
            .path("keys")
            .isArray())
        .isTrue();
    assertThat(fails(admin("authorities", "export", "--kind", "kube")))
        .contains("--kind must be one of issuer, spiffe");
  }
}
