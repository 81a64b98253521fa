package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.IssuerExtension;
import dev.machineid.testkit.TestBot;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class TokenJoinEndToEndTest {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void tokenJoinIssuesAShortLivedBotIdentityThatChainsToTheAuthority(TestBot bot) throws Exception {
    Instant before = Instant.now();
    try (MachineIdentity id = bot.identityBuilder().credentialTtl(Duration.ofMinutes(10)).build()) {
      Identity identity = id.start();
      X509Certificate leaf = identity.certificate();

      assertThat(leaf.getSubjectX500Principal().getName()).isEqualTo("CN=bot-" + bot.name());
      assertThat(leaf.getSubjectAlternativeNames())
          .containsExactly(List.of(6, "spiffe://" + identity.trustDomain() + "/bot/" + bot.name()));
      assertThat(identity.spiffeId().toString()).isEqualTo("spiffe://" + identity.trustDomain() + "/bot/" + bot.name());
      assertThat(leaf.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
      // the requested TTL, measured from issue time; notBefore is back-dated a minute for clock skew
      Duration lifetime = Duration.between(leaf.getNotBefore().toInstant().plusSeconds(60), leaf.getNotAfter().toInstant());
      assertThat(lifetime).isBetween(Duration.ofMinutes(10).minusSeconds(2), Duration.ofMinutes(10).plusSeconds(2));
      assertThat(leaf.getNotBefore().toInstant()).isBefore(before.minusSeconds(50));
      assertThat(leaf.getNotAfter().toInstant()).isBetween(before.plus(Duration.ofMinutes(10)).minusSeconds(2),
          Instant.now().plus(Duration.ofMinutes(10)).plusSeconds(2));

      // chains to x509_authorities as served at /v1/authority
      X509Certificate authority = Pem.certificate(ISSUER.issuer().authority().x509Authorities().get(0));
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
      assertThat(ISSUER.issuer().instances(bot.name())).singleElement()
          .satisfies(i -> assertThat(i.id()).isEqualTo(identity.instanceId()));
    }
  }

  @Test
  void renewalKeepsTheInstanceAndAdvancesTheGeneration(TestBot bot) throws Exception {
    try (MachineIdentity id = bot.identityBuilder().credentialTtl(Duration.ofMinutes(10)).build()) {
      Identity first = id.start();
      Identity second = id.renewNow().get();
      assertThat(second.instanceId()).isEqualTo(first.instanceId());
      assertThat(second.generation()).isEqualTo(2);
      assertThat(second.serialNumber()).isNotEqualTo(first.serialNumber());
      assertThat(second.privateKey()).isNotEqualTo(first.privateKey());
      assertThat(id.current()).isSameAs(second);
    }
  }
}
