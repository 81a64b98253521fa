package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.issuer.internal.ssh.SshCertificateAuthority;
import dev.machineid.issuer.internal.ssh.SshCertificateRequest;
import dev.machineid.issuer.internal.ssh.SshPublicKeyInfo;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code ssh_public_key} on {@code /v1/join} and {@code /v1/renew}: the bot's own SSH user
 * certificate, for the logins its roles allow, never outliving the X.509 identity.
 */
class BotSshCertificateTest {
  private Issuer issuer;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().build().start();
    issuer.roles().create(role("ops", List.of("{{internal.logins}}")));
    issuer.roles().create(role("deployer", List.of("deploy", "{{internal.logins}}")));
    issuer.roles().create(role("unrelated", List.of("root")));
    issuer
        .bots()
        .create("web", List.of("ops", "deployer"), Map.of("logins", List.of("alice", "bob")));
    issuer.bots().create("plain", List.of("ops"), Map.of());
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  private static Role role(String name, List<String> logins) {
    return new Role(
        name, logins, List.of(), List.of(), List.of(), List.of(), List.of(), false, null, null);
  }

  private static String sshKey(KeyPair keys) {
    return SshPublicKeys.authorizedKey(keys.getPublic());
  }

  private ProtocolClient.Reply joinWithSsh(String bot, KeyPair keys, String sshPublicKey) {
    String token = issuer.tokens().create(bot, Duration.ofMinutes(10));
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    ObjectNode req =
        ProtocolClient.joinRequest(token, client.challenge("token", token, keys), keys, "10m");
    req.put("ssh_public_key", sshPublicKey);
    return client.post("/v1/join", req);
  }

  private static X509Certificate leaf(IdentityResponse c) {
    return Pem.certificate(c.certificateChain().get(0));
  }

  private SshPublicKeyInfo checked(IdentityResponse c, KeyPair keys) {
    assertThat(c.sshCertificate()).as("ssh_certificate").isNotNull();
    SshPublicKeyInfo info = SshCertificateAuthority.describe(c.sshCertificate());
    assertThat(info.signingCa())
        .isEqualTo(issuer.authority().sshUserAuthorities().get(0).strip());
    assertThat(info.type()).isEqualTo(SshCertificateRequest.Type.USER);
    assertThat(info.subjectKey().getEncoded()).isEqualTo(keys.getPublic().getEncoded());
    assertThat(info.keyId()).isEqualTo("bot-" + c.bot());
    Instant notAfter = leaf(c).getNotAfter().toInstant();
    assertThat(info.validBefore()).isBeforeOrEqualTo(notAfter);
    assertThat(info.validAfter()).isAfterOrEqualTo(leaf(c).getNotBefore().toInstant());
    return info;
  }

  @Test
  void joinWithSshPublicKeyReturnsAUserCertificateForExactlyTheBotsLogins() {
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply reply = joinWithSsh("web", keys, sshKey(keys));

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    IdentityResponse c = reply.as(IdentityResponse.class);
    SshPublicKeyInfo info = checked(c, keys);
    // ops and deployer expand {{internal.logins}}; deployer adds deploy; the unrelated role's root
    // is not the bot's
    assertThat(info.principals()).containsExactlyInAnyOrder("alice", "bob", "deploy");
    AuditEvent join = issuer.audit().events().stream()
        .filter(e -> e.type().equals("join") && "success".equals(e.outcome()))
        .reduce((a, b) -> b)
        .orElseThrow();
    assertThat(join.detail()).containsKey("ssh_logins");
    assertThat(List.of(join.detail().get("ssh_logins").split(",")))
        .containsExactlyInAnyOrder("alice", "bob", "deploy");
  }

  @Test
  void renewalWithSshPublicKeyReturnsANewCertificateNoLongerThanTheX509One() {
    KeyPair keys = ProtocolClient.ec();
    IdentityResponse joined = joinWithSsh("web", keys, sshKey(keys)).as(IdentityResponse.class);
    KeyPair next = ProtocolClient.ec();
    ObjectNode req = ProtocolClient.object()
        .put("generation", 1)
        .put("public_key", Pem.encode(next.getPublic()))
        .put("ssh_public_key", sshKey(next))
        .put("ttl", "7m");
    ProtocolClient.Reply reply = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .post("/v1/renew", req);

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    IdentityResponse renewed = reply.as(IdentityResponse.class);
    SshPublicKeyInfo info = checked(renewed, next);
    assertThat(info.principals()).containsExactlyInAnyOrder("alice", "bob", "deploy");
    assertThat(renewed.sshCertificate()).isNotEqualTo(joined.sshCertificate());
    assertThat(Duration.between(info.validAfter(), info.validBefore()))
        .isLessThanOrEqualTo(Duration.ofMinutes(8));

    // a retry of the lost answer gets the same SSH certificate back
    ProtocolClient.Reply retry = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .post("/v1/renew", req);
    assertThat(retry.status()).as(retry.toString()).isEqualTo(200);
    assertThat(retry.as(IdentityResponse.class).sshCertificate())
        .isEqualTo(renewed.sshCertificate());
  }

  @Test
  void ed25519IdentityKeyGetsAnEd25519Certificate() {
    KeyPair keys = ProtocolClient.ed25519();
    ProtocolClient.Reply reply = joinWithSsh("web", keys, sshKey(keys));

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    SshPublicKeyInfo info = checked(reply.as(IdentityResponse.class), keys);
    assertThat(info.certificateType()).isEqualTo("ssh-ed25519-cert-v01@openssh.com");
  }

  @Test
  void withoutSshPublicKeyNoSshCertificateIsIssued() {
    KeyPair keys = ProtocolClient.ec();
    String token = issuer.tokens().create("web", Duration.ofMinutes(10));
    ProtocolClient.Reply reply = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(token, keys, "10m");

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    assertThat(reply.as(IdentityResponse.class).sshCertificate()).isNull();
  }

  @Test
  void botWhoseRolesAllowNoLoginJoinsWithoutAnSshCertificate() {
    // an SSH certificate without principals would be valid for every login: none is issued
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply reply = joinWithSsh("plain", keys, sshKey(keys));

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    assertThat(reply.as(IdentityResponse.class).sshCertificate()).isNull();
    AuditEvent join = issuer.audit().events().stream()
        .filter(e -> e.type().equals("join") && "plain".equals(e.bot()))
        .reduce((a, b) -> b)
        .orElseThrow();
    assertThat(join.detail().get("ssh_certificate")).contains("no login");
  }

  @Test
  void loginThatCannotBeAPrincipalIsLeftOutAndTheJoinStillSucceeds() {
    issuer
        .bots()
        .create("sloppy", List.of("ops"), Map.of("logins", List.of("alice", "bad login", "a,b")));
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply reply = joinWithSsh("sloppy", keys, sshKey(keys));

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    assertThat(checked(reply.as(IdentityResponse.class), keys).principals())
        .containsExactly("alice");
  }

  @Test
  void malformedSshPublicKeyOnJoinIsABadRequestThatConsumesNothing() {
    KeyPair keys = ProtocolClient.ec();
    String token = issuer.tokens().create("web", Duration.ofMinutes(10));
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    for (String bad :
        List.of("ssh-ed25519 !!!notbase64", "not-a-key AAAA", "", sshKey(ProtocolClient.ec()))) {
      ObjectNode req =
          ProtocolClient.joinRequest(token, client.challenge("token", token, keys), keys, "10m");
      req.put("ssh_public_key", bad);
      ProtocolClient.Reply reply = client.post("/v1/join", req);
      assertThat(reply.status()).as(bad + " -> " + reply).isEqualTo(400);
      assertThat(reply.contentType()).startsWith("application/problem+json");
      assertThat(reply.code()).isEqualTo("malformed_request");
    }
    assertThat(issuer.instances().list("web")).isEmpty();
    // the token was not consumed: the same token still joins
    ProtocolClient.Reply ok = client.join(token, keys, "10m");
    assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
  }

  @Test
  void malformedSshPublicKeyOnRenewalIsABadRequestThatChangesNoInstance() {
    KeyPair keys = ProtocolClient.ec();
    IdentityResponse joined = joinWithSsh("web", keys, sshKey(keys)).as(IdentityResponse.class);
    BotInstance before = issuer.instances().find(joined.instanceId()).orElseThrow();
    KeyPair next = ProtocolClient.ec();
    for (String bad : List.of("ecdsa-sha2-nistp256 AAAA", "ssh-rsa", sshKey(keys))) {
      ObjectNode req = ProtocolClient.object()
          .put("generation", 1)
          .put("public_key", Pem.encode(next.getPublic()))
          .put("ssh_public_key", bad);
      ProtocolClient.Reply reply = ProtocolClient.as(
              issuer.url(), issuer.authorityCertificate(), keys, joined)
          .post("/v1/renew", req);
      assertThat(reply.status()).as(bad + " -> " + reply).isEqualTo(400);
      assertThat(reply.code()).isEqualTo("malformed_request");
    }
    BotInstance after = issuer.instances().find(joined.instanceId()).orElseThrow();
    assertThat(after.generation()).isEqualTo(before.generation()).isEqualTo(1);
    assertThat(after.latestAuthentication()).isEqualTo(before.latestAuthentication());
    assertThat(issuer.locks().list()).isEmpty();
    // and the instance still renews normally
    ProtocolClient.Reply ok = ProtocolClient.as(
            issuer.url(), issuer.authorityCertificate(), keys, joined)
        .renew(1, next, null);
    assertThat(ok.status()).as(ok.toString()).isEqualTo(200);
  }
}
