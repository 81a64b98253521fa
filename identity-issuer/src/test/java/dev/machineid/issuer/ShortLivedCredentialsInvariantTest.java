package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.nimbusds.jwt.SignedJWT;
import dev.machineid.core.protocol.CertificatesResponse;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.SshPublicKeys;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.ssh.SshCertificateAuthority;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/architecture.md §11, invariant 2 as written: no role-scoped credential outlives one hour or the bot certificate it
 * was asked with, whatever the request asks for and whatever the roles allow.
 */
class ShortLivedCredentialsInvariantTest {
  private static final Duration ONE_HOUR = Duration.ofHours(1);

  private Issuer issuer;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().build().start();
    // no options.max_ttl: only the issuer's own limits apply
    issuer
        .roles()
        .create(new Role(
            "svc",
            List.of("deploy"),
            List.of("app"),
            List.of("viewers"),
            List.of(),
            List.of(),
            List.of("billing"),
            false,
            null,
            null));
    issuer.bots().create("web", List.of("svc"), Map.of());
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  private record Joined(ProtocolClient client, X509Certificate certificate) {}

  private Joined join(String ttl) {
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply reply = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create("web", Duration.ofMinutes(10)), keys, ttl);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    IdentityResponse c = reply.as(IdentityResponse.class);
    return new Joined(
        ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, c),
        Pem.certificate(c.certificateChain().get(0)));
  }

  /** A valid request of {@code kind} for the role, asking for {@code ttl}. */
  private static ObjectNode request(String kind, String ttl) {
    KeyPair keys = ProtocolClient.ec();
    ObjectNode req = ProtocolClient.object().put("kind", kind).put("ttl", ttl);
    req.putArray("roles").add("svc");
    ObjectNode target = req.putObject("target");
    switch (kind) {
      case "database" -> target.put("database_user", "app");
      case "kubernetes" -> target.putArray("kubernetes_groups").add("viewers");
      case "ssh_user" -> target.putArray("logins").add("deploy");
      case "jwt_svid" -> target.putArray("audiences").add("billing");
      default -> {}
    }
    if (kind.equals("ssh_user")) {
      req.put("ssh_public_key", SshPublicKeys.authorizedKey(keys.getPublic()));
    } else if (!kind.equals("jwt_svid")) {
      req.put("public_key", Pem.encode(keys.getPublic()));
    }
    return req;
  }

  /** When the credential in the answer stops being valid, read from the credential itself. */
  private static Instant expiry(String kind, CertificatesResponse answer) throws Exception {
    return switch (kind) {
      case "ssh_user" ->
        SshCertificateAuthority.describe(answer.sshCertificate()).validBefore();
      case "jwt_svid" ->
        SignedJWT.parse(answer.token()).getJWTClaimsSet().getExpirationTime().toInstant();
      default -> Pem.certificate(answer.certificateChain().get(0)).getNotAfter().toInstant();
    };
  }

  /** When the credential starts being valid, without the back-dating that absorbs clock skew. */
  private static Instant issuedAt(String kind, CertificatesResponse answer) throws Exception {
    return switch (kind) {
      case "ssh_user" ->
        SshCertificateAuthority.describe(answer.sshCertificate())
            .validAfter()
            .plus(CertificateAuthority.BACKDATE);
      case "jwt_svid" ->
        SignedJWT.parse(answer.token()).getJWTClaimsSet().getIssueTime().toInstant();
      default ->
        Pem.certificate(answer.certificateChain().get(0))
            .getNotBefore()
            .toInstant()
            .plus(CertificateAuthority.BACKDATE);
    };
  }

  private static CertificatesResponse issue(Joined bot, ObjectNode request) {
    ProtocolClient.Reply reply = bot.client().post("/v1/certificates", request);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    return reply.as(CertificatesResponse.class);
  }

  @ParameterizedTest
  @ValueSource(strings = {"database", "kubernetes", "application", "ssh_user", "jwt_svid"})
  void aRoleScopedCredentialAskedForTwoHoursUnderARoleWithoutMaxTtlLivesAtMostOneHour(String kind)
      throws Exception {
    // the bot certificate lives three hours, so only the one-hour cap can shorten the credential
    Joined bot = join("3h");
    assertThat(Duration.between(Instant.now(), bot.certificate().getNotAfter().toInstant()))
        .isGreaterThan(Duration.ofHours(2));

    CertificatesResponse answer = issue(bot, request(kind, "2h"));

    Instant expiry = expiry(kind, answer);
    assertThat(Duration.between(issuedAt(kind, answer), expiry)).isEqualTo(ONE_HOUR);
    assertThat(answer.notAfter()).isEqualTo(expiry);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"database", "kubernetes", "application", "ssh_user", "jwt_svid", "identity"})
  void aRoleScopedCredentialNeverOutlivesTheBotCertificateItWasAskedWith(String kind)
      throws Exception {
    // a two-minute bot certificate asked for thirty minutes: within the hour, beyond the bot's life
    Joined bot = join("2m");
    Instant botExpiry = bot.certificate().getNotAfter().toInstant();

    CertificatesResponse answer = issue(bot, request(kind, "30m"));

    Instant expiry = expiry(kind, answer);
    assertThat(expiry).isBeforeOrEqualTo(botExpiry);
    assertThat(answer.notAfter()).isBeforeOrEqualTo(botExpiry);
    // it was shortened to what the bot had left, not refused or left at a default
    assertThat(Duration.between(issuedAt(kind, answer), expiry))
        .isLessThanOrEqualTo(Duration.ofMinutes(2))
        .isPositive();
  }
}
