package dev.machineid.issuer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every command against a real {@code serve}, started in-process on an ephemeral port. */
class IssuerCliTest {
  @TempDir
  static Path tmp;

  static Path dir;
  static Thread serve;
  static StringWriter serveOut = new StringWriter();

  record Result(int code, String out, String err) {
    JsonNode json() {
      try {
        return Protocol.reader().readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON: " + out + " / " + err, e);
      }
    }
  }

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = IssuerCli.run(args, new PrintWriter(out), new PrintWriter(err));
    return new Result(code, out.toString(), err.toString());
  }

  /** Runs in the init directory, as an operator would. */
  static Result admin(String... args) {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--dir";
    all[args.length + 1] = dir.toString();
    return run(all);
  }

  static Result ok(Result r) {
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    return r;
  }

  static void failsWith(Result r, String message) {
    assertThat(r.code()).as(r.out() + r.err()).isNotZero();
    assertThat(r.err().strip()).startsWith("issuer: ").contains(message);
    assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
  }

  @BeforeAll
  static void initAndServe() throws Exception {
    dir = tmp.resolve("issuer");
    Result init = run(
        "init",
        "--dir",
        dir.toString(),
        "--trust-domain",
        "example.test",
        "--listen",
        "127.0.0.1:0");
    ok(init);
    assertThat(init.out()).contains("CA pin:         sha256:");
    serve = new Thread(
        () -> IssuerCli.run(
            new String[] {
              "serve", "-c", dir.resolve("issuer.yaml").toString(), "--listen", "127.0.0.1:0"
            },
            new PrintWriter(serveOut, true),
            new PrintWriter(new StringWriter())),
        "cli-test-serve");
    serve.setDaemon(true);
    serve.start();
    Instant deadline = Instant.now().plusSeconds(30);
    while (!Files.exists(dir.resolve("issuer.url"))) {
      assertThat(Instant.now()).as("serve wrote issuer.url").isBefore(deadline);
      assertThat(serve.isAlive()).as("serve is running").isTrue();
      Thread.onSpinWait();
      Thread.sleep(20); // polling a file the server writes, with a deadline
    }
  }

  @AfterAll
  static void stopServe() throws Exception {
    serve.interrupt();
    serve.join(10_000);
    assertThat(Files.exists(dir.resolve("issuer.url"))).isFalse();
  }

  @Test
  void initWritesPrivateKeysAdminIdentityAndConfig() throws IOException {
    assertThat(PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("keys/authority-key.pem"))))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(
            Files.getPosixFilePermissions(dir.resolve("admin/admin-key.pem"))))
        .isEqualTo("rw-------");
    assertThat(Files.readString(dir.resolve("issuer.yaml")))
        .contains("trust_domain: example.test")
        .contains("crypto_provider: jdk");
    failsWith(run("init", "--dir", dir.toString()), "already initialised");
  }

  @Test
  void signWritesDatabaseServerAndSshHostCertificatesForTheirAuthorities() throws Exception {
    java.security.KeyPair kp = java.security.KeyPairGenerator.getInstance("EC").generateKeyPair();
    Path pub = Files.writeString(
        tmp.resolve("server.pub.pem"), dev.machineid.core.protocol.Pem.encode(kp.getPublic()));
    Path out = tmp.resolve("signed-db");
    ok(admin(
        "sign",
        "--kind",
        "database_server",
        "--host-names",
        "db1.internal,127.0.0.1",
        "--public-key",
        pub.toString(),
        "--out",
        out.toString(),
        "--ttl",
        "48h"));
    java.util.List<java.security.cert.X509Certificate> chain =
        dev.machineid.core.protocol.Pem.certificates(Files.readString(out.resolve("server.crt")));
    assertThat(chain).hasSize(2);
    assertThat(chain.get(0).getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
    assertThat(chain.get(0).getSubjectAlternativeNames())
        .extracting(l -> (Object) l.get(1))
        .contains("db1.internal", "127.0.0.1");
    chain.get(0).verify(chain.get(1).getPublicKey());
    assertThat(chain.get(1).getSubjectX500Principal().getName())
        .contains("database server authority");
    assertThat(Files.readString(out.resolve("client-ca.crt"))).contains("BEGIN CERTIFICATE");

    String sshPub = dev.machineid.core.protocol.SshPublicKeys.authorizedKey(
        java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic());
    Path sshKey = Files.writeString(tmp.resolve("host.pub"), sshPub + "\n");
    Path sshOut = tmp.resolve("signed-ssh");
    ok(admin(
        "sign",
        "--kind",
        "ssh_host",
        "--host-names",
        "db1.internal",
        "--public-key",
        sshKey.toString(),
        "--out",
        sshOut.toString()));
    assertThat(Files.readString(sshOut.resolve("host-cert.pub")))
        .startsWith("ssh-ed25519-cert-v01@openssh.com ");
    assertThat(Files.readString(sshOut.resolve("user-ca.pub"))).startsWith("ssh-ed25519 ");

    failsWith(
        admin(
            "sign",
            "--kind",
            "kubernetes",
            "--host-names",
            "x",
            "--public-key",
            pub.toString(),
            "--out",
            out.toString()),
        "database_server or ssh_host");
  }

  @Test
  void adminsFollowTheConfiguration() throws IOException {
    Path yaml = dir.resolve("issuer.yaml");
    String original = Files.readString(yaml);
    assertThat(original).contains("admins: [admin]");
    try {
      Files.writeString(yaml, original.replace("admins: [admin]", "admins: [admin, sec]"));
      assertThat(ok(admin("admins", "sync")).out())
          .contains("added: sec")
          .contains("removed: none");
      assertThat(ok(admin("admins", "ls", "--format", "json")).json())
          .extracting(n -> n.get("name").asText())
          .containsExactly("admin", "sec");

      // a name taken out of the configuration is removed at once
      Files.writeString(yaml, original);
      assertThat(ok(admin("admins", "sync")).out())
          .contains("added: none")
          .contains("removed: sec");
      assertThat(ok(admin("admins", "ls", "--format", "json")).json())
          .extracting(n -> n.get("name").asText())
          .containsExactly("admin");
      failsWith(admin("admins", "rm", "admin"), "cannot remove itself");
      failsWith(admin("admins", "rm", "nobody"), "not_found");
    } finally {
      Files.writeString(yaml, original);
    }
  }

  @Test
  void statusWorksFromTheInitDirectory() {
    Result r = ok(admin("status", "--format", "json"));
    JsonNode s = r.json();
    assertThat(s.get("trust_domain").asText()).isEqualTo("example.test");
    assertThat(s.get("ca_pin").asText()).startsWith("sha256:");
    assertThat(s.get("version").asText()).isNotBlank();
    assertThat(ok(admin("status")).out()).contains("CA pin:");
    assertThat(serveOut.toString()).contains(s.get("ca_pin").asText());
  }

  @Test
  void botsAddPrintsTokenPinAndAgentConfigAndBotsCanBeListedAndRemoved() throws IOException {
    Path role = tmp.resolve("role.yaml");
    Files.writeString(
        role,
        """
        kind: role
        version: v1
        metadata: {name: cli-deployer}
        spec:
          allow:
            logins: [deploy, "{{internal.logins}}"]
            db_users: [app]
          options: {max_ttl: 30m}
        """);
    ok(admin("roles", "create", "-f", role.toString()));
    Result add =
        ok(admin("bots", "add", "cli-web", "--roles=cli-deployer", "--logins=root,deploy"));
    assertThat(add.out())
        .contains("The bot token: ")
        .contains("CA pin: sha256:")
        .contains("join_method: token")
        .contains("ca_pins: [\"sha256:")
        .contains("issuer: https://127.0.0.1:");
    assertThat(add.out())
        .as("the file name docs/agent.md uses")
        .contains("Agent configuration (agent.yaml):")
        .doesNotContain("machineid.yaml");
    assertThat(ok(admin("bots", "ls")).out())
        .contains("cli-web")
        .contains("cli-deployer")
        .contains("logins=root,deploy");
    JsonNode bots = ok(admin("bots", "ls", "--format", "json")).json();
    assertThat(bots.findValuesAsText("name")).contains("cli-web");
    failsWith(admin("bots", "add", "cli-web"), "already exists");
    failsWith(admin("bots", "add", "cli-other", "--roles=nope"), "no role named 'nope'");
    ok(admin("bots", "rm", "cli-web"));
    failsWith(admin("bots", "rm", "cli-web"), "no bot 'cli-web'");
    assertThat(ok(admin("roles", "ls")).out()).contains("cli-deployer").contains("30m");
    ok(admin("roles", "rm", "cli-deployer"));
    failsWith(admin("roles", "rm", "cli-deployer"), "not_found");
  }

  @Test
  void rolesUpdateAndBotsUpdateChangeTheStoredRoleAndBot() throws IOException {
    Path role = tmp.resolve("upd-role.yaml");
    Files.writeString(
        role,
        "kind: role\nversion: v1\nmetadata: {name: cli-upd}\nspec:\n  allow:\n    logins: [deploy]\n");
    ok(admin("roles", "create", "-f", role.toString()));
    ok(admin("bots", "add", "cli-upd-web", "--roles=cli-upd", "--logins=alice"));

    Files.writeString(
        role,
        "kind: role\nversion: v1\nmetadata: {name: cli-upd}\nspec:\n  allow:\n    logins: [release]\n  options: {max_ttl: 15m}\n");
    assertThat(ok(admin("roles", "update", "-f", role.toString())).out())
        .contains("Role 'cli-upd' updated.");
    JsonNode stored = ok(admin("roles", "ls", "--format", "json")).json();
    assertThat(stored.findValues("logins").toString()).contains("release").doesNotContain("deploy");

    Result upd = ok(
        admin("bots", "update", "cli-upd-web", "--logins=bob,carol", "--trait", "team=payments"));
    assertThat(upd.out()).contains("updated").contains("bob,carol").contains("team=payments");
    failsWith(admin("bots", "update", "cli-upd-web", "--roles=nope"), "no role named 'nope'");
    failsWith(admin("bots", "update", "cli-upd-nobody", "--logins=x"), "not_found");
    failsWith(admin("bots", "update", "cli-upd-web"), "nothing to change");
    Files.writeString(
        role,
        "kind: role\nversion: v1\nmetadata: {name: cli-upd-nobody}\nspec:\n  allow:\n    logins: [x]\n");
    failsWith(admin("roles", "update", "-f", role.toString()), "not_found");
    ok(admin("bots", "rm", "cli-upd-web"));
    ok(admin("roles", "rm", "cli-upd"));
  }

  @Test
  void tokensAddCreateListAndRemove() throws IOException {
    ok(admin("bots", "add", "cli-tok"));
    Result add = ok(admin("tokens", "add", "--bot", "cli-tok", "--ttl", "10m", "--format", "json"));
    String secret = add.json().get("token").asText();
    assertThat(secret).hasSize(32);
    String listed = ok(admin("tokens", "ls")).out();
    assertThat(listed).contains("cli-tok").doesNotContain(secret);

    Path rules = tmp.resolve("rules.yaml");
    Files.writeString(rules, "allow:\n  - {repository: acme/app, ref: refs/heads/main}\n");
    ok(admin(
        "tokens",
        "add",
        "--bot",
        "cli-tok",
        "--join-method",
        "github",
        "--name",
        "cli-gha",
        "--rules",
        rules.toString()));
    Path token = tmp.resolve("token.yaml");
    Files.writeString(
        token,
        """
        kind: token
        version: v1
        metadata: {name: cli-k8s}
        spec:
          bot_name: cli-tok
          join_method: kubernetes
          expires: 2099-12-01T00:00:00Z
          kubernetes:
            allow:
              - {service_account: "prod:deployer"}
        """);
    ok(admin("tokens", "create", "-f", token.toString()));
    JsonNode all = ok(admin("tokens", "ls", "--format", "json")).json();
    assertThat(all.findValuesAsText("name")).contains("cli-gha", "cli-k8s");
    ok(admin("tokens", "rm", "cli-gha"));
    ok(admin("tokens", "rm", secret));
    failsWith(admin("tokens", "rm", "cli-gha"), "not_found");
  }

  @Test
  void errorPathsAreOneLineAndNonZero() throws IOException {
    failsWith(admin("tokens", "add", "--bot", "cli-nobody"), "no bot named 'cli-nobody'");
    Path noRule = tmp.resolve("norule.yaml");
    Files.writeString(
        noRule,
        """
        kind: token
        version: v1
        metadata: {name: cli-bad}
        spec:
          bot_name: cli-nobody
          join_method: github
          github:
            allow:
              - {ref: refs/heads/main}
        """);
    ok(admin("bots", "add", "cli-err"));
    Files.writeString(noRule, Files.readString(noRule).replace("cli-nobody", "cli-err"));
    failsWith(admin("tokens", "create", "-f", noRule.toString()), "identifying rule");
    Path bad = tmp.resolve("bad.yaml");
    Files.writeString(bad, "kind: role\nmetadata: {name: [unclosed\n");
    failsWith(admin("roles", "create", "-f", bad.toString()), "cannot parse");
    Path wrongShape = tmp.resolve("shape.yaml");
    Files.writeString(
        wrongShape, "kind: role\nversion: v1\nmetadata: {name: x}\nspec: {allow: {logns: [a]}}\n");
    failsWith(admin("roles", "create", "-f", wrongShape.toString()), "spec.allow.logns");
    failsWith(admin("instances", "show", "nobody/x"), "not_found");
    failsWith(admin("instances", "show", "no-slash"), "BOT/ID");
    failsWith(run("bots", "ls", "--dir", tmp.resolve("nowhere").toString()), "no issuer.yaml");
    Path noAdmin = tmp.resolve("noadmin");
    Files.createDirectories(noAdmin);
    Files.copy(dir.resolve("issuer.yaml"), noAdmin.resolve("issuer.yaml"));
    failsWith(run("bots", "ls", "--dir", noAdmin.toString()), "no admin identity");
    assertThat(run("bots", "frobnicate").code()).isEqualTo(2);
    failsWith(admin("audit", "--since", "yesterday"), "since");
  }

  @Test
  void connectionAndFileErrorsSayWhatToChange() throws IOException {
    // .invalid never resolves (RFC 2606): the message names the host and the two ways out
    failsWith(
        admin("bots", "ls", "--server", "https://issuer.invalid:8443"),
        "the host name 'issuer.invalid' does not resolve here; admin commands use the first of host_names in issuer.yaml");
    failsWith(
        admin("bots", "ls", "--server", "https://issuer.invalid:8443"),
        "or pass --server https://HOST:8443");
    failsWith(
        admin(
            "authorities", "export", "--kind", "spiffe", "--server", "https://issuer.invalid:8443"),
        "cannot read the authorities from the issuer at https://issuer.invalid:8443: the host name 'issuer.invalid' does not resolve");
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    failsWith(
        admin("bots", "ls", "--server", "https://127.0.0.1:" + closed),
        "nothing accepts connections at 127.0.0.1:" + closed);
    Path missing = tmp.resolve("no-such-rules.yaml");
    failsWith(
        admin("roles", "create", "-f", missing.toString()),
        "cannot read " + missing + ": no such file");
  }

  @Test
  void instancesLocksAndAuditCommands() throws Exception {
    ok(admin("bots", "add", "cli-inst"));
    assertThat(ok(admin("instances", "ls", "--bot", "cli-inst", "--format", "json"))
            .json())
        .isEmpty();
    failsWith(admin("instances", "ls", "--bot", "cli-nobody"), "not_found");
    Result lock = ok(admin(
        "locks",
        "add",
        "--bot",
        "cli-inst",
        "--reason",
        "incident",
        "--ttl",
        "1h",
        "--format",
        "json"));
    String id = lock.json().get("id").asText();
    assertThat(ok(admin("locks", "ls")).out()).contains(id).contains("incident");
    ok(admin("locks", "rm", id));
    failsWith(admin("locks", "rm", id), "not_found");
    assertThat(ok(admin("audit", "--type", "bot", "--bot", "cli-inst")).out())
        .contains("bot.created");
    JsonNode events = ok(admin("audit", "--since", "1h", "--type", "lock", "--format", "json"))
        .json();
    assertThat(events.findValuesAsText("type")).contains("lock.created", "lock.removed");
    assertThat(ok(admin("audit", "verify")).out()).contains("Audit chain intact");
    assertThat(ok(admin("audit", "verify", "--format", "json"))
            .json()
            .get("intact")
            .asBoolean())
        .isTrue();
  }

  @Test
  void adminIdentityIsRenewedThroughTheServerAndReissuedLocally() {
    assertThat(ok(admin("admin", "renew", "--ttl", "2h")).out()).contains("renewed until");
    ok(admin("bots", "ls"));
    assertThat(ok(admin("admin", "reissue")).out()).contains("issued until");
    ok(admin("bots", "ls"));
  }
}
