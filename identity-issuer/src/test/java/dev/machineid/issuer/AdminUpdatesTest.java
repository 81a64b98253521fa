package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.issuer.internal.ssh.SshCertificateAuthority;
import dev.machineid.testkit.ProtocolClient;
import java.net.http.HttpRequest;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Updating roles ({@code PUT /v1/admin/roles/{name}}) and bots ({@code PATCH /v1/admin/bots/{name}})
 * through the admin API: validated like creation, audited with the admin, and followed by the next
 * issuance.
 */
class AdminUpdatesTest {
  private Issuer issuer;
  private ProtocolClient admin;
  private KeyPair keys;
  private IdentityResponse joined;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().trustDomain("example.test").build().start();
    KeyPair adminKeys = ProtocolClient.ec();
    X509Certificate cert =
        issuer.admins().issueCertificate("ops", adminKeys.getPublic(), Duration.ofHours(1));
    admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), adminKeys.getPrivate(), new X509Certificate[] {
          cert
        });
    issuer
        .roles()
        .create(new Role(
            "deployer",
            List.of("deploy", "{{internal.logins}}"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "auditor",
            List.of("audit"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer.bots().create("web", List.of("deployer"), Map.of("logins", List.of("alice")));
    keys = ProtocolClient.ec();
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    String token = issuer.tokens().create("web", Duration.ofMinutes(5));
    ProtocolClient.Reply r = client.post(
        "/v1/join",
        ProtocolClient.joinRequest(token, client.challenge("token", token, keys), keys, null)
            .put("ssh_public_key", SshPublicKeys.authorizedKey(keys.getPublic())));
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    joined = r.as(IdentityResponse.class);
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  /** The SSH principals of the next renewal's SSH certificate. */
  private List<String> principalsOfTheNextRenewal() {
    KeyPair next = ProtocolClient.ec();
    ObjectNode req = ProtocolClient.object()
        .put("generation", joined.generation())
        .put("public_key", Pem.encode(next.getPublic()))
        .put("ssh_public_key", SshPublicKeys.authorizedKey(next.getPublic()));
    ProtocolClient.Reply r = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .post("/v1/renew", req);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    joined = r.as(IdentityResponse.class);
    keys = next;
    return SshCertificateAuthority.describe(joined.sshCertificate()).principals();
  }

  private ProtocolClient.Reply send(String method, String path, String json) {
    return admin.send(method, path, "application/json", HttpRequest.BodyPublishers.ofString(json));
  }

  private static String role(String name, String logins) {
    return "{\"kind\":\"role\",\"version\":\"v1\",\"metadata\":{\"name\":\"" + name
        + "\"},\"spec\":{\"allow\":{\"logins\":" + logins + "}}}";
  }

  @Test
  void rolesUpdateAppliesToTheNextIssuance() {
    assertThat(principalsOfTheNextRenewal()).containsExactlyInAnyOrder("deploy", "alice");
    java.time.Instant created = issuer.roles().find("deployer").orElseThrow().createdAt();

    ProtocolClient.Reply r = send(
        "PUT",
        "/v1/admin/roles/deployer",
        role("deployer", "[\"release\",\"{{internal.logins}}\"]"));

    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    assertThat(r.json().get("spec").get("allow").get("logins"))
        .extracting(JsonNode::asText)
        .containsExactly("release", "{{internal.logins}}");
    assertThat(principalsOfTheNextRenewal()).containsExactlyInAnyOrder("release", "alice");
    assertThat(issuer.roles().find("deployer").orElseThrow().createdAt()).isEqualTo(created);
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("role.updated");
      assertThat(e.detail()).containsEntry("role", "deployer").containsEntry("actor", "admin:ops");
    });
  }

  @Test
  void aRoleUpdateIsValidatedLikeCreationAndNeedsAnExistingRoleOfThatName() {
    Role before = issuer.roles().find("deployer").orElseThrow();
    assertThat(send("PUT", "/v1/admin/roles/ghost", role("ghost", "[\"x\"]")).code())
        .isEqualTo("not_found");
    assertThat(issuer.roles().find("ghost")).isEmpty();
    ProtocolClient.Reply renamed =
        send("PUT", "/v1/admin/roles/deployer", role("auditor", "[\"x\"]"));
    assertThat(renamed.code()).isEqualTo("malformed_request");
    ProtocolClient.Reply unknownKey = send(
        "PUT",
        "/v1/admin/roles/deployer",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"deployer\"},\"spec\":{\"allow\":{\"logns\":[\"a\"]}}}");
    assertThat(unknownKey.code()).isEqualTo("malformed_request");
    ProtocolClient.Reply system = send(
        "PUT",
        "/v1/admin/roles/deployer",
        "{\"kind\":\"role\",\"metadata\":{\"name\":\"deployer\"},\"spec\":{\"allow\":{\"kubernetes_groups\":[\"system:masters\"]}}}");
    assertThat(system.code()).isEqualTo("malformed_request");
    assertThat(issuer.roles().find("deployer")).contains(before);
    assertThat(issuer.roles().find("auditor").orElseThrow().logins()).containsExactly("audit");
    assertThat(issuer.audit().events())
        .noneSatisfy(e -> assertThat(e.type()).isEqualTo("role.updated"));
  }

  @Test
  void botsUpdateAppliesToTheNextIssuance() {
    assertThat(principalsOfTheNextRenewal()).containsExactlyInAnyOrder("deploy", "alice");

    ProtocolClient.Reply r = send(
        "PATCH",
        "/v1/admin/bots/web",
        "{\"roles\":[\"deployer\",\"auditor\"],\"logins\":[\"bob\"]}");

    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    assertThat(r.json().get("roles"))
        .extracting(JsonNode::asText)
        .containsExactly("deployer", "auditor");
    assertThat(principalsOfTheNextRenewal()).containsExactlyInAnyOrder("deploy", "audit", "bob");
    // the instance lives on: the same one renewed
    assertThat(issuer.instances().list("web")).hasSize(1);

    // only what is given changes: other traits stay, logins stay unless given
    ProtocolClient.Reply traits =
        send("PATCH", "/v1/admin/bots/web", "{\"traits\":{\"team\":[\"payments\"]}}");
    assertThat(traits.status()).as(traits.toString()).isEqualTo(200);
    assertThat(issuer.bots().find("web").orElseThrow().traits())
        .isEqualTo(Map.of("team", List.of("payments"), "logins", List.of("bob")));
    assertThat(principalsOfTheNextRenewal()).containsExactlyInAnyOrder("deploy", "audit", "bob");
    assertThat(issuer.audit().events())
        .filteredOn(e -> e.type().equals("bot.updated"))
        .hasSize(2)
        .allSatisfy(e -> {
          assertThat(e.bot()).isEqualTo("web");
          assertThat(e.detail()).containsEntry("actor", "admin:ops");
        });
  }

  @Test
  void aBotUpdateNamingAnUnknownRoleOrAMissingBotIsRefusedAndChangesNothing() {
    Bot before = issuer.bots().find("web").orElseThrow();
    assertThat(send("PATCH", "/v1/admin/bots/web", "{\"roles\":[\"deployer\",\"root\"]}")
            .code())
        .isEqualTo("not_found");
    assertThat(
            send("PATCH", "/v1/admin/bots/ghost", "{\"roles\":[\"deployer\"]}").code())
        .isEqualTo("not_found");
    assertThat(send("PATCH", "/v1/admin/bots/web", "{\"roles\":\"deployer\"}").code())
        .isEqualTo("malformed_request");
    assertThat(send("PATCH", "/v1/admin/bots/web", "{\"rolez\":[\"deployer\"]}").code())
        .isEqualTo("malformed_request");
    assertThat(send("PATCH", "/v1/admin/bots/web", "{}").code()).isEqualTo("malformed_request");
    assertThat(issuer.bots().find("web")).contains(before);
    assertThat(issuer.bots().find("ghost")).isEmpty();
    // the Java API refuses an unknown role too
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> issuer.bots().update("web", List.of("root"), null, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(issuer.bots().find("web")).contains(before);
    assertThat(issuer.audit().events())
        .noneSatisfy(e -> assertThat(e.type()).isEqualTo("bot.updated"));
  }
}
