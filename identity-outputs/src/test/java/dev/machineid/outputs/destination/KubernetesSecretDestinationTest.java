package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.IdentityException;
import dev.machineid.core.output.Destination;
import dev.machineid.core.output.DestinationProvider;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.Config;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KubernetesSecretDestinationTest {
  private static final String NS = "apps";
  private static final String NAME = "bot-db";

  private FakeKubernetesApi api;

  @BeforeEach
  void start() throws Exception {
    api = new FakeKubernetesApi();
  }

  @AfterEach
  void stop() {
    api.close();
  }

  private Config config() {
    Config c = Config.empty();
    c.setMasterUrl(api.url());
    c.setRequestRetryBackoffLimit(0);
    return c;
  }

  private KubernetesSecretDestination destination() {
    return KubernetesSecretDestination.builder(NAME).namespace(NS).config(config()).label("app", "db").build();
  }

  private static Map<String, byte[]> files(String tag) {
    return Map.of("tls.key", ("key-" + tag).getBytes(StandardCharsets.US_ASCII),
        "tls.crt", ("cert-" + tag).getBytes(StandardCharsets.US_ASCII));
  }

  private static String decoded(Secret secret, String key) {
    return new String(Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
  }

  @Test
  void createsAnOpaqueSecretWithBase64Values() {
    destination().write(files("1"));

    Secret s = api.secret(NS, NAME);
    assertThat(s).isNotNull();
    assertThat(s.getType()).isEqualTo("Opaque");
    assertThat(s.getMetadata().getLabels().get("app")).isEqualTo("db");
    assertThat(s.getData().get("tls.key"))
        .isEqualTo(Base64.getEncoder().encodeToString("key-1".getBytes(StandardCharsets.US_ASCII)));
    assertThat(decoded(s, "tls.crt")).isEqualTo("cert-1");
    assertThat(api.requests()).containsExactly(
        "GET /api/v1/namespaces/apps/secrets/bot-db -> 404",
        "POST /api/v1/namespaces/apps/secrets -> 201");
  }

  @Test
  void secondWriteUpdatesOurKeysAndKeepsForeignOnes() {
    KubernetesSecretDestination d = destination();
    d.write(files("1"));
    api.putForeignKey(NS, NAME, "other.conf", "someone else's");

    d.write(Map.of("tls.key", "key-2".getBytes(StandardCharsets.US_ASCII)));

    Secret s = api.secret(NS, NAME);
    assertThat(decoded(s, "tls.key")).isEqualTo("key-2");
    assertThat(decoded(s, "other.conf")).isEqualTo("someone else's");
    assertThat(s.getData().containsKey("tls.crt")).as("a key we wrote before and no longer write is removed").isFalse();
    assertThat(s.getMetadata().getLabels().get("app")).isEqualTo("db");
    assertThat(api.requests()).last().asString().startsWith("PUT /api/v1/namespaces/apps/secrets/bot-db -> 200");
  }

  @Test
  void keepsForeignKeysOfAnExistingSecret() {
    api.putForeignKey(NS, NAME, "ca.crt", "pre-existing");

    destination().write(files("1"));

    Secret s = api.secret(NS, NAME);
    assertThat(decoded(s, "ca.crt")).isEqualTo("pre-existing");
    assertThat(decoded(s, "tls.key")).isEqualTo("key-1");
  }

  @Test
  void retriesAfterAConcurrentModification() {
    KubernetesSecretDestination d = destination();
    d.write(files("1"));
    api.beforeNextPut(fake -> fake.putForeignKey(NS, NAME, "racer", "won the race"));

    d.write(files("2"));

    assertThat(api.requests()).filteredOn(r -> r.startsWith("PUT"))
        .containsExactly("PUT /api/v1/namespaces/apps/secrets/bot-db -> 409",
            "PUT /api/v1/namespaces/apps/secrets/bot-db -> 200");
    Secret s = api.secret(NS, NAME);
    assertThat(decoded(s, "racer")).isEqualTo("won the race");
    assertThat(decoded(s, "tls.key")).isEqualTo("key-2");
    assertThat(decoded(s, "tls.crt")).isEqualTo("cert-2");
  }

  @Test
  void givesUpAfterPersistentConflicts() {
    KubernetesSecretDestination d =
        KubernetesSecretDestination.builder(NAME).namespace(NS).config(config()).maxAttempts(2).build();
    d.write(files("1"));
    api.beforeNextPut(fake -> {
      fake.putForeignKey(NS, NAME, "racer", "1");
      fake.beforeNextPut(f -> f.putForeignKey(NS, NAME, "racer", "2"));
    });

    assertThatThrownBy(() -> d.write(files("2"))).isInstanceOf(IdentityException.class)
        .hasMessageContaining("HTTP 409").hasMessageContaining("apps/bot-db").hasMessageContaining("2 conflicting");
  }

  @Test
  void readReturnsOnlyOurFiles() {
    KubernetesSecretDestination d = destination();
    assertThat(d.read()).isEmpty();
    d.write(files("1"));
    api.putForeignKey(NS, NAME, "other.conf", "x");

    Map<String, byte[]> read = destination().read(); // a fresh instance, as after a restart
    assertThat(read).containsOnlyKeys("tls.key", "tls.crt");
    assertThat(new String(read.get("tls.key"), StandardCharsets.US_ASCII)).isEqualTo("key-1");
    assertThat(new String(read.get("tls.crt"), StandardCharsets.US_ASCII)).isEqualTo("cert-1");
  }

  @Test
  void refusesABadSecretName() {
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("Bot_DB"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("destination.name").hasMessageContaining("'Bot_DB'").hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("-x")).hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("a".repeat(254))).hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder(" ")).hasMessageContaining("destination.name: missing");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder("ok").namespace("Bad_NS"))
        .hasMessageContaining("destination.namespace").hasMessageContaining("DNS-1123 label");
    assertThat(KubernetesSecretDestination.builder("bot-db.v1").namespace(NS).build().name()).isEqualTo("bot-db.v1");
  }

  @Test
  void refusesABadKey() {
    assertThatThrownBy(() -> destination().write(Map.of("a/b", new byte[1])))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'a/b'");
    assertThat(api.requests()).isEmpty();
  }

  @Test
  void namespaceDefaultsToThePodsElseIsRequired(@TempDir Path tmp) throws Exception {
    Path nsFile = tmp.resolve("namespace");
    assertThatThrownBy(() -> KubernetesSecretDestination.builder(NAME).podNamespaceFile(nsFile).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("destination.namespace: missing");
    Files.writeString(nsFile, "team-a\n");
    assertThat(KubernetesSecretDestination.builder(NAME).podNamespaceFile(nsFile).build().namespace()).isEqualTo("team-a");
  }

  @Test
  void foundByTypeThroughServiceLoader() {
    DestinationProvider p = ServiceLoader.load(DestinationProvider.class).stream().map(ServiceLoader.Provider::get)
        .filter(x -> x.type().equals("kubernetes_secret")).findFirst().orElseThrow();
    Destination d = p.create(Map.of("type", "kubernetes_secret", "name", NAME, "namespace", NS, "server", api.url(),
        "labels", Map.of("app.kubernetes.io/managed-by", "machine-id")));
    assertThat(d).hasToString("kubernetes_secret:apps/bot-db");
    assertThatThrownBy(() -> p.create(Map.of("name", NAME, "namespace", NS, "path", "/x")))
        .hasMessageContaining("destination.path: unknown setting");
    assertThatThrownBy(() -> p.create(Map.of("name", "UPPER", "namespace", NS))).hasMessageContaining("DNS-1123");
    assertThatThrownBy(() -> p.create(Map.of("name", NAME, "namespace", NS, "labels", Map.of("bad key!", "v"))))
        .hasMessageContaining("destination.labels");
  }
}
