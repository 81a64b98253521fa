package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.output.Destination;
import dev.machineid.core.output.DestinationProvider;
import dev.machineid.core.output.OutputProvider;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.http.RecordedRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Secret destination against Fabric8's Kubernetes mock server in CRUD mode: Secrets are stored
 * and versioned by the mock's own API emulation (resourceVersion checked on update, 409 AlreadyExists
 * on a duplicate create), and expectations are layered on top only to stage a race. RBAC refusals
 * are in {@link KubernetesSecretDestinationRbacTest}.
 */
@EnableKubernetesMockClient(crud = true)
class KubernetesSecretDestinationTest {
  private static final String NS = "apps";
  private static final String NAME = "bot-db";
  private static final String PATH = "/api/v1/namespaces/apps/secrets/bot-db";

  KubernetesMockServer server;
  /** Another client of the same API server: the tests' view, and the "someone else" who edits Secrets. */
  KubernetesClient client;

  private int requestsTaken;

  private KubernetesSecretDestination destination(String name) {
    return KubernetesSecretDestination.builder(name)
        .namespace(NS)
        .config(client.getConfiguration())
        .label("app.kubernetes.io/managed-by", "machine-id")
        .build();
  }

  private KubernetesSecretDestination destination() {
    return destination(NAME);
  }

  private static Map<String, byte[]> files(String tag) {
    return Map.of(
        "tls.key",
        ("key-" + tag).getBytes(StandardCharsets.US_ASCII),
        "tls.crt",
        ("cert-" + tag).getBytes(StandardCharsets.US_ASCII));
  }

  private Secret stored(String name) {
    return client.secrets().inNamespace(NS).withName(name).get();
  }

  private static String decoded(Secret secret, String key) {
    return new String(
        Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** "METHOD path" of the requests the API server received since the last call. */
  private List<String> requests() throws InterruptedException {
    List<String> out = new ArrayList<>();
    while (requestsTaken < server.getRequestCount()) {
      RecordedRequest r = server.takeRequest();
      requestsTaken++;
      out.add(r.getMethod() + " " + r.getPath());
    }
    return out;
  }

  /** Edits the Secret as another client would (kubectl, an operator): a key, a label and an annotation of its own. */
  private void someoneElseAdds(String name, String key, String value) {
    client.secrets().inNamespace(NS).withName(name).edit(s -> new SecretBuilder(s)
        .editMetadata()
        .addToLabels("team", "payments")
        .addToAnnotations("owner.example/note", "kept")
        .endMetadata()
        .addToData(key, b64(value))
        .build());
  }

  @Test
  void createsOneOpaqueSecretPerOutputHoldingOnlyThatOutputsKeys() throws Exception {
    destination("bot-db").write(files("db"));
    destination("bot-ssh")
        .write(Map.of(
            "id_ed25519",
            "ssh-key".getBytes(StandardCharsets.US_ASCII),
            "ssh_config",
            "Host *".getBytes(StandardCharsets.US_ASCII)));

    assertThat(requests())
        .containsExactly(
            "GET /api/v1/namespaces/apps/secrets/bot-db", "POST /api/v1/namespaces/apps/secrets",
            "GET /api/v1/namespaces/apps/secrets/bot-ssh", "POST /api/v1/namespaces/apps/secrets");
    Secret db = stored("bot-db");
    assertThat(db.getType()).isEqualTo("Opaque");
    assertThat(db.getData()).containsOnlyKeys("tls.key", "tls.crt");
    assertThat(decoded(db, "tls.key")).isEqualTo("key-db");
    assertThat(db.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "machine-id");
    assertThat(db.getMetadata().getAnnotations())
        .containsEntry(KubernetesSecretDestination.KEYS_ANNOTATION, "tls.crt,tls.key");
    Secret ssh = stored("bot-ssh");
    assertThat(ssh.getData()).containsOnlyKeys("id_ed25519", "ssh_config");
    assertThat(ssh.getMetadata().getAnnotations())
        .containsEntry(KubernetesSecretDestination.KEYS_ANNOTATION, "id_ed25519,ssh_config");
    assertThat(client.secrets().inNamespace(NS).list().getItems()).hasSize(2);
  }

  @Test
  void dataDecodesToTheExactFiles() {
    byte[] everyByte = new byte[256];
    for (int i = 0; i < everyByte.length; i++) {
      everyByte[i] = (byte) i;
    }
    byte[] random = new byte[8192];
    new Random(42).nextBytes(random);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("every-byte.bin", everyByte);
    files.put("random.der", random);
    files.put(
        "tls.crt",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
            .getBytes(StandardCharsets.US_ASCII));
    files.put("empty", new byte[0]);

    destination().write(files);

    Secret s = stored(NAME);
    assertThat(s.getData()).containsOnlyKeys(files.keySet());
    for (Map.Entry<String, byte[]> e : files.entrySet()) {
      assertThat(Base64.getDecoder().decode(s.getData().get(e.getKey())))
          .as(e.getKey())
          .isEqualTo(e.getValue());
    }
    Map<String, byte[]> read = destination().read(); // a fresh instance, as after a restart
    assertThat(read).containsOnlyKeys(files.keySet());
    files.forEach((k, v) -> assertThat(read.get(k)).as(k).isEqualTo(v));
  }

  @Test
  void secondWriteUpdatesOnlyOurKeysAndLeavesForeignKeysLabelsAndAnnotations() throws Exception {
    KubernetesSecretDestination d = destination();
    d.write(files("1"));
    someoneElseAdds(NAME, "other.conf", "someone else's");
    String before = stored(NAME).getMetadata().getResourceVersion();
    requests();

    d.write(Map.of("tls.key", "key-2".getBytes(StandardCharsets.US_ASCII)));

    assertThat(requests()).containsExactly("GET " + PATH, "PUT " + PATH);
    Secret s = stored(NAME);
    assertThat(s.getMetadata().getResourceVersion()).isNotEqualTo(before);
    assertThat(decoded(s, "tls.key")).isEqualTo("key-2");
    assertThat(decoded(s, "other.conf")).isEqualTo("someone else's");
    assertThat(s.getData())
        .as("a key we wrote before and no longer write is removed")
        .containsOnlyKeys("tls.key", "other.conf");
    assertThat(s.getMetadata().getLabels())
        .containsEntry("team", "payments")
        .containsEntry("app.kubernetes.io/managed-by", "machine-id");
    assertThat(s.getMetadata().getAnnotations())
        .containsEntry("owner.example/note", "kept")
        .containsEntry(KubernetesSecretDestination.KEYS_ANNOTATION, "tls.key");
  }

  @Test
  void anUnchangedWriteSendsNoUpdate() throws Exception {
    KubernetesSecretDestination d = destination();
    d.write(files("1"));
    String version = stored(NAME).getMetadata().getResourceVersion();
    requests();

    d.write(files("1"));

    assertThat(requests()).containsExactly("GET " + PATH);
    assertThat(stored(NAME).getMetadata().getResourceVersion()).isEqualTo(version);
  }

  @Test
  void adoptsAnExistingSecretKeepingItsKeys() {
    // created beforehand, e.g. `kubectl create secret generic bot-db --from-literal=ca.crt=…` so
    // RBAC needs no create
    client
        .secrets()
        .inNamespace(NS)
        .resource(new SecretBuilder()
            .withNewMetadata()
            .withName(NAME)
            .addToLabels("team", "payments")
            .endMetadata()
            .withType("Opaque")
            .addToData("ca.crt", b64("pre-existing"))
            .build())
        .create();

    destination().write(files("1"));

    Secret s = stored(NAME);
    assertThat(decoded(s, "ca.crt")).isEqualTo("pre-existing");
    assertThat(decoded(s, "tls.key")).isEqualTo("key-1");
    assertThat(s.getMetadata().getLabels()).containsEntry("team", "payments");
    assertThat(destination().read()).containsOnlyKeys("tls.key", "tls.crt");
  }

  @Test
  void aKeyOfTheSameNameThatWeDidNotWriteIsRefusedAndNothingChanges() throws Exception {
    client
        .secrets()
        .inNamespace(NS)
        .resource(new SecretBuilder()
            .withNewMetadata()
            .withName(NAME)
            .endMetadata()
            .withType("Opaque")
            .addToData("tls.key", b64("someone else's key"))
            .addToData("ca.crt", b64("theirs"))
            .build())
        .create();
    Secret before = stored(NAME);
    requests();

    assertThatThrownBy(() -> destination().write(files("1")))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> {
          assertThat(e.reason()).isEqualTo(KubernetesSecretException.Reason.FOREIGN_KEY);
          assertThat(e.namespace()).isEqualTo(NS);
          assertThat(e.name()).isEqualTo(NAME);
        })
        .hasMessageContaining("apps/bot-db")
        .hasMessageContaining("[tls.key]")
        .hasMessageContaining(KubernetesSecretDestination.KEYS_ANNOTATION)
        .hasMessageContaining("not changed");

    assertThat(requests()).containsExactly("GET " + PATH);
    Secret after = stored(NAME);
    assertThat(after.getMetadata().getResourceVersion())
        .isEqualTo(before.getMetadata().getResourceVersion());
    assertThat(after.getData()).isEqualTo(before.getData());
  }

  @Test
  void aChangeBetweenOurReadAndOurUpdateIsRetriedOnTheFreshSecret() throws Exception {
    KubernetesSecretDestination d = destination();
    d.write(files("1"));
    Secret stale = stored(NAME);
    someoneElseAdds(NAME, "racer", "won the race");
    // our next read sees the Secret as it was before the other writer's change
    server.expect().get().withPath(PATH).andReturn(200, stale).once();
    requests();

    d.write(files("2"));

    // the mock's own resourceVersion check answered the stale update with 409
    assertThat(requests())
        .containsExactly("GET " + PATH, "PUT " + PATH, "GET " + PATH, "PUT " + PATH);
    Secret s = stored(NAME);
    assertThat(decoded(s, "racer")).isEqualTo("won the race");
    assertThat(decoded(s, "tls.key")).isEqualTo("key-2");
    assertThat(decoded(s, "tls.crt")).isEqualTo("cert-2");
  }

  @Test
  void aSecretCreatedByAnotherWriterAfterOurReadIsUpdatedInstead() throws Exception {
    client
        .secrets()
        .inNamespace(NS)
        .resource(new SecretBuilder()
            .withNewMetadata()
            .withName(NAME)
            .endMetadata()
            .withType("Opaque")
            .addToData("ca.crt", b64("theirs"))
            .build())
        .create();
    // our read happened before their create
    server
        .expect()
        .get()
        .withPath(PATH)
        .andReturn(
            404,
            new StatusBuilder()
                .withStatus("Failure")
                .withCode(404)
                .withReason("NotFound")
                .withMessage("secrets \"bot-db\" not found")
                .build())
        .once();
    requests();

    destination().write(files("1"));

    // the create met the mock's 409 AlreadyExists and the write was redone as an update
    assertThat(requests())
        .containsExactly(
            "GET " + PATH, "POST /api/v1/namespaces/apps/secrets", "GET " + PATH, "PUT " + PATH);
    Secret s = stored(NAME);
    assertThat(decoded(s, "ca.crt")).isEqualTo("theirs");
    assertThat(decoded(s, "tls.key")).isEqualTo("key-1");
  }

  @Test
  void persistentConflictsGiveATypedErrorAndLeaveTheSecretAsItWas() throws Exception {
    KubernetesSecretDestination d = KubernetesSecretDestination.builder(NAME)
        .namespace(NS)
        .config(client.getConfiguration())
        .maxAttempts(2)
        .build();
    d.write(files("1"));
    Secret before = stored(NAME);
    server
        .expect()
        .put()
        .withPath(PATH)
        .andReturn(
            409,
            new StatusBuilder()
                .withStatus("Failure")
                .withCode(409)
                .withReason("Conflict")
                .withMessage(
                    "Operation cannot be fulfilled on secrets \"bot-db\": the object has been "
                        + "modified; please apply your changes to the latest version and try again")
                .build())
        .always();
    requests();

    assertThatThrownBy(() -> d.write(files("2")))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> {
          assertThat(e.reason()).isEqualTo(KubernetesSecretException.Reason.CONFLICT);
          assertThat(e.httpStatus()).isEqualTo(409);
        })
        .hasMessageContaining("HTTP 409")
        .hasMessageContaining("apps/bot-db")
        .hasMessageContaining("2 conflicting");

    assertThat(requests())
        .containsExactly("GET " + PATH, "PUT " + PATH, "GET " + PATH, "PUT " + PATH);
    Secret after = stored(NAME);
    assertThat(after.getMetadata().getResourceVersion())
        .isEqualTo(before.getMetadata().getResourceVersion());
    assertThat(decoded(after, "tls.key")).isEqualTo("key-1");
  }

  @Test
  void readReturnsOnlyOurFiles() {
    KubernetesSecretDestination d = destination();
    assertThat(d.read()).isEmpty();
    d.write(files("1"));
    someoneElseAdds(NAME, "other.conf", "x");

    Map<String, byte[]> read = destination().read(); // a fresh instance, as after a restart
    assertThat(read).containsOnlyKeys("tls.key", "tls.crt");
    assertThat(new String(read.get("tls.key"), StandardCharsets.US_ASCII)).isEqualTo("key-1");
    assertThat(new String(read.get("tls.crt"), StandardCharsets.US_ASCII)).isEqualTo("cert-1");
  }

  @Test
  void twoOutputsOnOneSecretRefuseEachOther() throws Exception {
    KubernetesSecretDestination db = KubernetesSecretDestination.builder(NAME)
        .namespace(NS)
        .config(client.getConfiguration())
        .owner("database-1")
        .build();
    KubernetesSecretDestination ssh = KubernetesSecretDestination.builder(NAME)
        .namespace(NS)
        .config(client.getConfiguration())
        .owner("ssh-2")
        .build();
    db.write(files("db"));
    Secret before = stored(NAME);

    // the second output neither overwrites the first one's keys nor deletes them
    assertThatThrownBy(() -> ssh.write(Map.of(
            "tls.key",
            "ssh-key".getBytes(StandardCharsets.US_ASCII),
            "ssh_config",
            "Host *".getBytes(StandardCharsets.US_ASCII))))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.OWNED_BY_ANOTHER_OUTPUT))
        .hasMessageContaining("'database-1'")
        .hasMessageContaining("not changed");
    assertThatThrownBy(
            () -> ssh.write(Map.of("ssh_config", "Host *".getBytes(StandardCharsets.US_ASCII))))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.OWNED_BY_ANOTHER_OUTPUT));
    Secret after = stored(NAME);
    assertThat(after.getMetadata().getResourceVersion())
        .isEqualTo(before.getMetadata().getResourceVersion());
    assertThat(decoded(after, "tls.key")).isEqualTo("key-db");
    assertThat(after.getData()).containsOnlyKeys("tls.key", "tls.crt");
    assertThat(ssh.read()).as("the other output's keys are not its files").isEmpty();

    // the owner keeps writing; and the other way round, the first writer of a Secret keeps it
    db.write(files("db2"));
    assertThat(decoded(stored(NAME), "tls.key")).isEqualTo("key-db2");
    KubernetesSecretDestination sshFirst = KubernetesSecretDestination.builder("bot-other")
        .namespace(NS)
        .config(client.getConfiguration())
        .owner("ssh-2")
        .build();
    sshFirst.write(Map.of("ssh_config", "Host *".getBytes(StandardCharsets.US_ASCII)));
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("bot-other")
            .namespace(NS)
            .config(client.getConfiguration())
            .owner("database-1")
            .build()
            .write(files("db")))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.OWNED_BY_ANOTHER_OUTPUT));
    assertThat(stored("bot-other").getData()).containsOnlyKeys("ssh_config");
  }

  @Test
  void aSecretManagedBySomeoneElseIsRefused() throws Exception {
    // as Helm leaves a chart's Secret
    client
        .secrets()
        .inNamespace(NS)
        .resource(new SecretBuilder()
            .withNewMetadata()
            .withName(NAME)
            .addToLabels("app.kubernetes.io/managed-by", "Helm")
            .addToAnnotations("meta.helm.sh/release-name", "payments")
            .endMetadata()
            .withType("Opaque")
            .addToData("db-password", b64("chart value"))
            .build())
        .create();
    Secret before = stored(NAME);
    requests();

    assertThatThrownBy(() -> destination().write(files("1")))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.MANAGED_ELSEWHERE))
        .hasMessageContaining("app.kubernetes.io/managed-by=Helm")
        .hasMessageContaining("not changed");

    assertThat(requests()).containsExactly("GET " + PATH);
    assertThat(stored(NAME).getMetadata().getResourceVersion())
        .isEqualTo(before.getMetadata().getResourceVersion());
    assertThat(stored(NAME).getData()).containsOnlyKeys("db-password");
  }

  @Test
  void aSecretOfAnotherTypeIsRefused() throws Exception {
    client
        .secrets()
        .inNamespace(NS)
        .resource(new SecretBuilder()
            .withNewMetadata()
            .withName(NAME)
            .addToAnnotations("kubernetes.io/service-account.name", "deployer")
            .endMetadata()
            .withType("kubernetes.io/service-account-token")
            .addToData("token", b64("eyJ…"))
            .build())
        .create();
    Secret before = stored(NAME);
    requests();

    assertThatThrownBy(() -> destination().write(files("1")))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.WRONG_TYPE))
        .hasMessageContaining("kubernetes.io/service-account-token")
        .hasMessageContaining("not changed");

    assertThat(requests()).containsExactly("GET " + PATH);
    assertThat(stored(NAME).getMetadata().getResourceVersion())
        .isEqualTo(before.getMetadata().getResourceVersion());
    assertThat(stored(NAME).getData()).containsOnlyKeys("token");
  }

  @Test
  void aSecretItCreatesIsLabelledAsManagedByItAndNamesItsOutput() {
    KubernetesSecretDestination.builder(NAME)
        .namespace(NS)
        .config(client.getConfiguration())
        .build()
        .write(files("1"));
    Secret s = stored(NAME);
    assertThat(s.getMetadata().getLabels())
        .containsEntry("app.kubernetes.io/managed-by", "machine-id");
    assertThat(s.getMetadata().getAnnotations())
        .containsEntry(KubernetesSecretDestination.OUTPUT_ANNOTATION, "default");
    assertThatThrownBy(() ->
            KubernetesSecretDestination.builder(NAME).label("app.kubernetes.io/managed-by", "Helm"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("managed-by");
  }

  @Test
  void outputsMadeFromConfigOwnTheirSecretByNameElseByWhatTheyRender() {
    OutputProvider database = ServiceLoader.load(OutputProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(p -> p.type().equals("database"))
        .findFirst()
        .orElseThrow();
    java.util.function.Function<Map<String, Object>, String> owner =
        settings -> ((KubernetesSecretDestination) ((dev.machineid.outputs.format.CredentialOutput)
                    database.create(settings, destination()))
                .destination())
            .owner();

    String app = owner.apply(Map.of("type", "database", "roles", List.of("db"), "username", "app"));
    assertThat(app).matches("database-[0-9a-f]{8}");
    assertThat(owner.apply(Map.of(
            "type",
            "database",
            "roles",
            List.of("db"),
            "username",
            "app",
            "ttl",
            "10m",
            "reload",
            "true")))
        .as("ttl and reload do not make another output")
        .isEqualTo(app);
    assertThat(
            owner.apply(Map.of("type", "database", "roles", List.of("db"), "username", "report")))
        .as("another database user is another output")
        .isNotEqualTo(app);
    assertThat(owner.apply(Map.of(
            "type", "database", "roles", List.of("db"), "username", "app", "name", "app-db")))
        .isEqualTo("app-db");
  }

  @Test
  void refusesABadSecretName() {
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("Bot_DB"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("destination.name")
        .hasMessageContaining("'Bot_DB'")
        .hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("-x"))
        .hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("a".repeat(254)))
        .hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder(" "))
        .hasMessageContaining("destination.name: missing");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("ok").namespace("Bad_NS"))
        .hasMessageContaining("destination.namespace")
        .hasMessageContaining("DNS-1123 label");
    assertThat(KubernetesSecretDestination.builder("bot-db.v1")
            .namespace(NS)
            .build()
            .name())
        .isEqualTo("bot-db.v1");
  }

  @Test
  void aBadKeyIsRefusedBeforeAnyRequest() throws Exception {
    assertThatThrownBy(
            () -> destination().write(Map.of("a/b", new byte[1], "tls.key", new byte[1])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'a/b'");
    assertThat(requests()).isEmpty();
    assertThat(stored(NAME)).isNull();
  }

  @Test
  void namespaceDefaultsToThePodsElseIsRequired(@TempDir Path tmp) throws Exception {
    Path nsFile = tmp.resolve("namespace");
    assertThatThrownBy(() ->
            KubernetesSecretDestination.builder(NAME).podNamespaceFile(nsFile).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("destination.namespace: missing");
    Files.writeString(nsFile, "team-a\n");
    assertThat(KubernetesSecretDestination.builder(NAME)
            .podNamespaceFile(nsFile)
            .build()
            .namespace())
        .isEqualTo("team-a");
  }

  @Test
  void foundByTypeThroughServiceLoader() {
    DestinationProvider p = ServiceLoader.load(DestinationProvider.class).stream()
        .map(ServiceLoader.Provider::get)
        .filter(x -> x.type().equals("kubernetes_secret"))
        .findFirst()
        .orElseThrow();
    Destination d = p.create(Map.of(
        "type",
        "kubernetes_secret",
        "name",
        NAME,
        "namespace",
        NS,
        "server",
        client.getConfiguration().getMasterUrl(),
        "labels",
        Map.of("app.kubernetes.io/managed-by", "machine-id")));
    assertThat(d).hasToString("kubernetes_secret:apps/bot-db");
    assertThatThrownBy(() -> p.create(Map.of("name", NAME, "namespace", NS, "path", "/x")))
        .hasMessageContaining("path: unknown key");
    assertThatThrownBy(() -> p.create(Map.of("name", "UPPER", "namespace", NS)))
        .hasMessageContaining("DNS-1123");
    assertThatThrownBy(() ->
            p.create(Map.of("name", NAME, "namespace", NS, "labels", Map.of("bad key!", "v"))))
        .hasMessageContaining("destination.labels");
  }
}
