package dev.machineid.it.credentials;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import dev.machineid.core.Credential;
import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.Identity;
import dev.machineid.core.IssuerException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import dev.machineid.testkit.OpenSsh;
import dev.machineid.testkit.ServerProcesses;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import io.spiffe.svid.x509svid.X509Svid;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.security.auth.x500.X500Principal;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** docs/architecture.md §5 and issue 4: roles, role-scoped credentials, purpose separation, TTL capping, templates. */
class RoleScopedCredentialsTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final AtomicInteger BOTS = new AtomicInteger();

  @BeforeAll
  static void roles() {
    Issuer issuer = ISSUER.start();
    issuer
        .roles()
        .create(new Role(
            "db-app",
            List.of(),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            Duration.ofMinutes(30),
            null));
    issuer
        .roles()
        .create(new Role(
            "db-short",
            List.of(),
            List.of("app", "reporting"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            Duration.ofMinutes(5),
            null));
    issuer
        .roles()
        .create(new Role(
            "k8s-viewer",
            List.of(),
            List.of(),
            List.of("viewers", "{{internal.teams}}"),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "k8s-admin",
            List.of(),
            List.of(),
            List.of("system:masters"),
            List.of("deploy-bot"),
            List.of(),
            List.of(),
            true,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "ssh",
            List.of("deploy", "{{internal.logins}}"),
            List.of(),
            List.of(),
            List.of(),
            List.of("*.db.internal"),
            List.of(),
            false,
            null,
            null));
    issuer
        .roles()
        .create(new Role(
            "jwt",
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of("billing"),
            false,
            null,
            null));
  }

  private static MachineIdentity identity(List<String> roles, Map<String, List<String>> traits) {
    String name = "cred-" + BOTS.incrementAndGet();
    Issuer issuer = ISSUER.issuer();
    issuer.bots().create(name, roles, traits);
    TestBot bot = new TestBot(
        name, issuer.tokens().create(name, Duration.ofHours(1)), issuer.url(), issuer.caPin());
    MachineIdentity id = bot.identityBuilder().build();
    id.start();
    return id;
  }

  private static X509Certificate authority(List<String> pems) {
    return Pem.certificate(pems.get(0));
  }

  @Test
  void databaseCertificateNamesTheAllowedUserAndChainsOnlyToTheDatabaseClientAuthority()
      throws Exception {
    try (MachineIdentity id = identity(List.of("db-app"), Map.of());
        CredentialHandle db = id.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
            .name("db-" + BOTS.get())
            .roles("db-app")
            .databaseUser("app")
            .build())) {
      X509Certificate leaf = db.current().certificate().orElseThrow();
      assertThat(leaf.getSubjectX500Principal()).isEqualTo(new X500Principal("CN=app"));
      assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
      Authority a = ISSUER.issuer().authority();
      leaf.verify(authority(a.databaseClientAuthorities()).getPublicKey());
      // one authority per purpose: not signed by the issuer, Kubernetes or SPIFFE authorities
      for (List<String> other :
          List.of(a.x509Authorities(), a.kubernetesClientAuthorities(), a.spiffeAuthorities())) {
        assertThatThrownBy(() -> leaf.verify(authority(other).getPublicKey()))
            .isInstanceOf(java.security.SignatureException.class);
      }
      assertThat(db.current().privateKey()).isPresent();
      assertThat(CredentialHandle.lookup(db.name())).contains(db);
    }
  }

  @Test
  void roleDenialsAreRefusedWithRoleDenied() {
    try (MachineIdentity id = identity(List.of("db-app", "k8s-viewer", "ssh", "jwt"), Map.of())) {
      // a user the role does not allow
      assertDenied(() -> id.credentials(CredentialRequest.database("postgres", "db-app")));
      // a role the bot does not hold
      assertDenied(() -> id.credentials(CredentialRequest.database("app", "db-short")));
      // a Kubernetes group outside the roles, and a system group
      assertDenied(() -> id.credentials(CredentialRequest.builder(CredentialKind.KUBERNETES)
          .roles("k8s-viewer")
          .kubernetesGroups("editors")
          .build()));
      // a host name outside the globs (a glob never spans a dot)
      assertDenied(() -> id.credentials(CredentialRequest.builder(CredentialKind.SSH_HOST)
          .roles("ssh")
          .hostNames("a.b.db.internal")
          .build()));
      assertDenied(() -> id.credentials(CredentialRequest.builder(CredentialKind.SSH_HOST)
          .roles("ssh")
          .hostNames("db1.other.internal")
          .build()));
      // an audience outside the role, and a login outside the role
      assertDenied(() -> id.credentials(CredentialRequest.builder(CredentialKind.JWT_SVID)
          .roles("jwt")
          .audiences("payroll")
          .build()));
      assertDenied(() -> id.credentials(CredentialRequest.builder(CredentialKind.SSH_USER)
          .roles("ssh")
          .logins("root")
          .build()));
    }
  }

  private static void assertDenied(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
    assertThatThrownBy(call)
        .isInstanceOf(IssuerException.class)
        .satisfies(e -> assertThat(((IssuerException) e).code()).isEqualTo("role_denied"));
  }

  @Test
  void ttlIsCappedByTheMostRestrictiveRoleAndOneHour() {
    try (MachineIdentity id = identity(List.of("db-app", "db-short"), Map.of())) {
      Instant before = Instant.now();
      try (CredentialHandle h = id.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
          .name("ttl-a-" + BOTS.get())
          .roles("db-app", "db-short")
          .databaseUser("app")
          .ttl(Duration.ofMinutes(45))
          .build())) {
        assertThat(Duration.between(before, h.current().notAfter()))
            .isBetween(
                Duration.ofMinutes(5).minusSeconds(2), Duration.ofMinutes(5).plusSeconds(2));
      }
      try (CredentialHandle h = id.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
          .name("ttl-b-" + BOTS.get())
          .roles("db-app")
          .databaseUser("app")
          .ttl(Duration.ofMinutes(45))
          .build())) {
        assertThat(Duration.between(before, h.current().notAfter()))
            .isBetween(
                Duration.ofMinutes(30).minusSeconds(2), Duration.ofMinutes(30).plusSeconds(2));
      }
    }
  }

  @Test
  void kubernetesSubjectsFollowTheRoles() throws Exception {
    try (MachineIdentity id = identity(List.of("k8s-viewer"), Map.of("teams", List.of("team-a")));
        CredentialHandle k8s = id.credentials(CredentialRequest.builder(CredentialKind.KUBERNETES)
            .name("k8s-" + BOTS.get())
            .roles("k8s-viewer")
            .build())) {
      X509Certificate leaf = k8s.current().certificate().orElseThrow();
      // only groups in the role: the user is the bot's own user name; templates expand from traits
      String subject = leaf.getSubjectX500Principal().getName(X500Principal.RFC2253);
      assertThat(subject)
          .contains("CN=bot-" + id.current().botName())
          .contains("O=viewers")
          .contains("O=team-a");
      leaf.verify(
          authority(ISSUER.issuer().authority().kubernetesClientAuthorities()).getPublicKey());
    }
    try (MachineIdentity id = identity(List.of("k8s-admin"), Map.of());
        CredentialHandle k8s = id.credentials(CredentialRequest.builder(CredentialKind.KUBERNETES)
            .name("k8s-admin-" + BOTS.get())
            .roles("k8s-admin")
            .kubernetesUser("deploy-bot")
            .build())) {
      // a system: group only where the role sets allow_system_groups
      assertThat(k8s.current()
              .certificate()
              .orElseThrow()
              .getSubjectX500Principal()
              .getName(X500Principal.RFC2253))
          .contains("CN=deploy-bot")
          .contains("O=system:masters");
    }
    assertThatThrownBy(() -> new Role(
            "bad",
            List.of(),
            List.of(),
            List.of("system:masters"),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allow_system_groups");
  }

  @Test
  void applicationSvidParsesWithJavaSpiffeAndJwtSvidVerifiesAgainstTheJwks() throws Exception {
    try (MachineIdentity id = identity(List.of("jwt"), Map.of());
        CredentialHandle svid = id.credentials(CredentialRequest.builder(CredentialKind.APPLICATION)
            .name("svid-" + BOTS.get())
            .build());
        CredentialHandle jwt = id.credentials(CredentialRequest.builder(CredentialKind.JWT_SVID)
            .name("jwt-" + BOTS.get())
            .roles("jwt")
            .audiences("billing")
            .build())) {
      Credential c = svid.current();
      StringBuilder chain = new StringBuilder();
      c.certificateChain().forEach(x -> chain.append(Pem.encode(x)));
      X509Svid parsed = X509Svid.parse(
          chain.toString().getBytes(StandardCharsets.US_ASCII),
          Pem.encode(c.privateKey().orElseThrow()).getBytes(StandardCharsets.US_ASCII));
      assertThat(parsed.getSpiffeId().toString())
          .isEqualTo(id.current().spiffeId().toString());

      SignedJWT token = SignedJWT.parse(jwt.current().token().orElseThrow());
      JWKSet jwks = JWKSet.parse(
          Protocol.writer().writeValueAsString(ISSUER.issuer().authority().jwks()));
      ECKey key = (ECKey) jwks.getKeyByKeyId(token.getHeader().getKeyID());
      assertThat(token.getHeader().getAlgorithm()).isEqualTo(JWSAlgorithm.ES256);
      assertThat(token.verify(new ECDSAVerifier(key))).isTrue();
      assertThat(token.getJWTClaimsSet().getSubject())
          .isEqualTo(id.current().spiffeId().toString());
      assertThat(token.getJWTClaimsSet().getAudience()).containsExactly("billing");
      assertThat(token.getJWTClaimsSet().getJWTID()).isNotBlank();
      assertThat(token.getJWTClaimsSet().getExpirationTime().toInstant()).isAfter(Instant.now());
    }
  }

  @Test
  void sshCertificatesShowPrincipalsKeyIdAndValidityInSshKeygen(@TempDir Path tmp)
      throws Exception {
    String keygen = OpenSsh.tool("ssh-keygen");
    try (MachineIdentity id = identity(List.of("ssh"), Map.of("logins", List.of("alice")));
        CredentialHandle user = id.credentials(CredentialRequest.builder(CredentialKind.SSH_USER)
            .name("ssh-u-" + BOTS.get())
            .roles("ssh")
            .build());
        CredentialHandle host = id.credentials(CredentialRequest.builder(CredentialKind.SSH_HOST)
            .name("ssh-h-" + BOTS.get())
            .roles("ssh")
            .hostNames("db1.db.internal")
            .build())) {
      String userOut = keygenL(
          keygen, tmp.resolve("user-cert.pub"), user.current().sshCertificate().orElseThrow());
      // trait template expanded: the role's {{internal.logins}} became the bot's "alice"
      assertThat(userOut)
          .contains("user certificate")
          .contains("Key ID: \"bot-" + id.current().botName() + "\"")
          .contains("deploy")
          .contains("alice")
          .contains("permit-pty");
      String hostOut = keygenL(
          keygen, tmp.resolve("host-cert.pub"), host.current().sshCertificate().orElseThrow());
      assertThat(hostOut).contains("host certificate").contains("db1.db.internal");
      assertThat(hostOut).containsPattern("Valid: from \\S+ to \\S+");
    }
  }

  private static String keygenL(String keygen, Path file, String certificate) throws Exception {
    Files.writeString(file, certificate + "\n");
    ServerProcesses.Result listed = OpenSsh.run(List.of(keygen, "-L", "-f", file.toString()));
    assertThat(listed.exitCode()).as(listed.output()).isZero();
    return listed.output();
  }

  @Test
  void identityOfAnotherBotCannotAskForThisBotsRoles() {
    try (MachineIdentity a = identity(List.of("db-app"), Map.of());
        MachineIdentity b = identity(List.of(), Map.of())) {
      assertThat(a.credentials(CredentialRequest.builder(CredentialKind.DATABASE)
                  .name("own-" + BOTS.get())
                  .roles("db-app")
                  .databaseUser("app")
                  .build())
              .current())
          .isNotNull();
      assertDenied(() -> b.credentials(CredentialRequest.database("app", "db-app")));
    }
  }

  @SuppressWarnings("unused")
  private static Identity unused(Identity i) {
    return i;
  }
}
