package dev.machineid.outputs.destination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.api.model.StatusBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * RBAC refusals from Fabric8's Kubernetes mock server in expectations mode, answered with the
 * Status bodies a real API server sends: each becomes a {@link KubernetesSecretException} whose
 * reason and message say what to grant, and nothing is written.
 */
@EnableKubernetesMockClient
class KubernetesSecretDestinationRbacTest {
  private static final String PATH = "/api/v1/namespaces/apps/secrets/bot-db";
  private static final String USER = "system:serviceaccount:apps:machine-id";

  KubernetesMockServer server;
  KubernetesClient client;

  private KubernetesSecretDestination destination() {
    return KubernetesSecretDestination.builder("bot-db")
        .namespace("apps")
        .config(client.getConfiguration())
        .build();
  }

  private static Map<String, byte[]> files() {
    return Map.of("tls.key", "key".getBytes(StandardCharsets.US_ASCII));
  }

  private static Status forbidden(String verb, boolean named) {
    return new StatusBuilder()
        .withApiVersion("v1")
        .withKind("Status")
        .withStatus("Failure")
        .withCode(403)
        .withReason("Forbidden")
        .withMessage((named ? "secrets \"bot-db\"" : "secrets") + " is forbidden: User \"" + USER
            + "\" cannot " + verb
            + " resource \"secrets\" in API group \"\" in the namespace \"apps\"")
        .build();
  }

  private List<String> requests() throws InterruptedException {
    List<String> out = new ArrayList<>();
    for (int n = server.getRequestCount(); out.size() < n; ) {
      var r = server.takeRequest();
      out.add(r.getMethod() + " " + r.getPath());
    }
    return out;
  }

  @Test
  void aForbiddenReadIsATypedErrorThatSaysWhatToGrantAndWritesNothing() throws Exception {
    server.expect().get().withPath(PATH).andReturn(403, forbidden("get", true)).always();

    assertThatThrownBy(() -> destination().write(files()))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> {
          assertThat(e.reason()).isEqualTo(KubernetesSecretException.Reason.FORBIDDEN);
          assertThat(e.httpStatus()).isEqualTo(403);
          assertThat(e.namespace()).isEqualTo("apps");
          assertThat(e.name()).isEqualTo("bot-db");
        })
        .hasMessageContaining("cannot write Secret apps/bot-db (HTTP 403)")
        .hasMessageContaining("cannot get resource")
        .hasMessageContaining("needs get and update")
        .hasMessageContaining("secrets/bot-db in namespace apps");
    assertThat(requests()).containsExactly("GET " + PATH);
  }

  @Test
  void aForbiddenCreateIsATypedError() throws Exception {
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
        .always();
    server
        .expect()
        .post()
        .withPath("/api/v1/namespaces/apps/secrets")
        .andReturn(403, forbidden("create", false))
        .always();

    assertThatThrownBy(() -> destination().write(files()))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.FORBIDDEN))
        .hasMessageContaining("cannot create resource")
        .hasMessageContaining("and create, unless the Secret already exists");
    assertThat(requests()).containsExactly("GET " + PATH, "POST /api/v1/namespaces/apps/secrets");
  }

  @Test
  void aForbiddenUpdateIsATypedError() throws Exception {
    server
        .expect()
        .get()
        .withPath(PATH)
        .andReturn(
            200,
            new SecretBuilder()
                .withNewMetadata()
                .withName("bot-db")
                .withNamespace("apps")
                .withResourceVersion("7")
                .endMetadata()
                .withType("Opaque")
                .build())
        .always();
    server
        .expect()
        .put()
        .withPath(PATH)
        .andReturn(403, forbidden("update", true))
        .always();

    assertThatThrownBy(() -> destination().write(files()))
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> assertThat(e.reason())
            .isEqualTo(KubernetesSecretException.Reason.FORBIDDEN))
        .hasMessageContaining("cannot update resource");
    assertThat(requests()).as("a 403 is not retried").containsExactly("GET " + PATH, "PUT " + PATH);
  }

  @Test
  void unauthorisedCredentialsAreATypedErrorOnRead() throws Exception {
    server
        .expect()
        .get()
        .withPath(PATH)
        .andReturn(
            401,
            new StatusBuilder()
                .withStatus("Failure")
                .withCode(401)
                .withReason("Unauthorized")
                .withMessage("Unauthorized")
                .build())
        .always();

    assertThatThrownBy(() -> destination().read())
        .isInstanceOfSatisfying(KubernetesSecretException.class, e -> {
          assertThat(e.reason()).isEqualTo(KubernetesSecretException.Reason.UNAUTHORIZED);
          assertThat(e.httpStatus()).isEqualTo(401);
        })
        .hasMessageContaining("cannot read Secret apps/bot-db (HTTP 401)")
        .hasMessageContaining("credentials");
  }
}
