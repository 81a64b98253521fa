package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.output.IdentityOutput;
import dev.machineid.core.output.MemoryDestination;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

class TokenJoinEndToEndTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void tokenJoinIssuesAShortLivedBotIdentityThatChainsToTheAuthority(TestBot bot) throws Exception {
    Instant before = Instant.now();
    try (MachineIdentity id =
        bot.identityBuilder().credentialTtl(Duration.ofMinutes(10)).build()) {
      Identity identity = id.start();
      X509Certificate leaf = identity.certificate();

      assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=bot-" + bot.name());
      assertThat(leaf.getSubjectAlternativeNames())
          .containsExactly(List.of(6, "spiffe://" + identity.trustDomain() + "/bot/" + bot.name()));
      assertThat(identity.spiffeId().toString())
          .isEqualTo("spiffe://" + identity.trustDomain() + "/bot/" + bot.name());
      assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
      // the requested TTL, measured from issue time; notBefore is back-dated a minute for clock
      // skew
      Duration lifetime = Duration.between(
          leaf.getNotBefore().toInstant().plusSeconds(60), leaf.getNotAfter().toInstant());
      assertThat(lifetime)
          .isBetween(
              Duration.ofMinutes(10).minusSeconds(2), Duration.ofMinutes(10).plusSeconds(2));
      assertThat(leaf.getNotBefore().toInstant()).isBefore(before.minusSeconds(50));
      assertThat(leaf.getNotAfter().toInstant())
          .isBetween(
              before.plus(Duration.ofMinutes(10)).minusSeconds(2),
              Instant.now().plus(Duration.ofMinutes(10)).plusSeconds(2));

      // chains to x509_authorities as served at /v1/authority
      X509Certificate authority =
          Pem.certificate(ISSUER.issuer().authority().x509Authorities().get(0));
      leaf.verify(authority.getPublicKey());
      assertThat(identity.trustBundle()).containsExactly(authority);
      assertThat(identity.generation()).isEqualTo(1);
      assertThat(identity.privateKey().getAlgorithm()).isEqualTo("EC");

      Health h = id.health();
      assertThat(h.state()).isEqualTo(Health.State.HEALTHY);
      assertThat(h.expiry()).isEqualTo(leaf.getNotAfter().toInstant());
      assertThat(h.nextRenewal()).isBefore(leaf.getNotAfter().toInstant());
      assertThat(h.clockOffset().abs()).isLessThan(Duration.ofSeconds(2));

      // the issuer records the instance with its authentication
      assertThat(ISSUER.issuer().instances().list(bot.name()))
          .singleElement()
          .satisfies(i -> assertThat(i.id()).isEqualTo(identity.instanceId()));
    }
  }

  @Test
  void renewalKeepsTheInstanceAndAdvancesTheGeneration(TestBot bot) throws Exception {
    try (MachineIdentity id =
        bot.identityBuilder().credentialTtl(Duration.ofMinutes(10)).build()) {
      Identity first = id.start();
      Identity second = id.renewNow().get();
      assertThat(second.instanceId()).isEqualTo(first.instanceId());
      assertThat(second.generation()).isEqualTo(2);
      assertThat(second.serialNumber()).isNotEqualTo(first.serialNumber());
      assertThat(second.privateKey()).isNotEqualTo(first.privateKey());
      assertThat(id.current()).isSameAs(second);
    }
  }

  @Test
  void identityOutputIsRewrittenOnEveryIssuance(TestBot bot) throws Exception {
    MemoryDestination destination = new MemoryDestination();
    try (MachineIdentity id =
        bot.identityBuilder().output(new IdentityOutput(destination)).build()) {
      Identity first = id.start();
      assertThat(destination.read()).containsOnlyKeys("tlscert", "key", "tlscacerts");
      assertThat(Pem.certificates(
              new String(destination.read().get("tlscert"), StandardCharsets.US_ASCII)))
          .containsExactlyElementsOf(first.certificateChain());
      Identity second = id.renewNow().get();
      assertThat(Pem.certificates(
                  new String(destination.read().get("tlscert"), StandardCharsets.US_ASCII))
              .get(0))
          .isEqualTo(second.certificate());
      assertThat(
              Pem.privateKey(new String(destination.read().get("key"), StandardCharsets.US_ASCII))
                  .getEncoded())
          .isEqualTo(second.privateKey().getEncoded());
    }
  }

  @Test
  void agentYamlJoinsAndKeepsTheIdentityInADirectory(TestBot bot, @TempDir Path tmp)
      throws Exception {
    Path config = Files.writeString(
        tmp.resolve("agent.yaml"),
        """
        version: v1
        issuer: %s
        onboarding:
          join_method: token
          token: %s
          ca_pins: ["%s"]
        storage: {type: directory, path: %s}
        credential_ttl: 15m
        """
            .formatted(bot.issuer(), bot.token(), bot.caPin(), tmp.resolve("state")));
    Identity joined;
    try (MachineIdentity id = MachineIdentity.fromConfig(config)) {
      joined = id.start();
      assertThat(Duration.between(joined.notBefore().plusSeconds(60), joined.notAfter()))
          .isBetween(
              Duration.ofMinutes(15).minusSeconds(2), Duration.ofMinutes(15).plusSeconds(2));
    }
    // a restart restores the stored identity (the token is spent) and renews it
    try (MachineIdentity id = MachineIdentity.fromConfig(config)) {
      Identity restored = id.start();
      assertThat(restored.serialNumber()).isEqualTo(joined.serialNumber());
      Identity renewed = id.renewNow().get();
      assertThat(renewed.instanceId()).isEqualTo(joined.instanceId());
      assertThat(renewed.generation()).isEqualTo(2);
    }
  }
}
