package dev.machineid.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.testkit.FakeIssuer;
import dev.machineid.testkit.issuer.TestBot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A stored identity vouches for nothing: the agent trusts only the authorities its CA pin names. */
class RestoredIdentityTrustTest {
  @TempDir
  Path tmp;

  @Test
  void aStoredIdentityFromAnAuthorityThePinDoesNotNameIsRefusedAndNeverPublished()
      throws Exception {
    Path state = tmp.resolve("state");
    Path out = tmp.resolve("out");
    // another authority (same bot, same trust domain) leaves a valid identity.json, chain and
    // bundle consistent with each other, in the state directory
    try (FakeIssuer other = FakeIssuer.builder().bot("web").start();
        FakeIssuer pinned = FakeIssuer.builder().bot("web").start()) {
      TestBot planted = new TestBot(other.bot(), other.token(), other.url(), other.caPin());
      Path plantedConfig = AgentConfig.forBot(planted)
          .storage(state)
          .identityTo(tmp.resolve("planted-out"))
          .writeTo(tmp.resolve("planted.yaml"));
      Run first = Run.of("start", "-c", plantedConfig.toString(), "--oneshot");
      assertThat(first.exitCode()).as(first.err()).isZero();
      X509Certificate otherCa = other.authority().certificate();
      // the first 60 base64 characters of a certificate are on its first PEM line
      String otherCaText =
          Base64.getEncoder().encodeToString(otherCa.getEncoded()).substring(0, 60);
      assertThat(Files.readString(state.resolve("identity.json"))).contains(otherCaText);

      TestBot bot = new TestBot(pinned.bot(), pinned.token(), pinned.url(), pinned.caPin());
      Path config =
          AgentConfig.forBot(bot).storage(state).identityTo(out).writeTo(tmp.resolve("agent.yaml"));
      Run run = Run.of("start", "-c", config.toString(), "--oneshot");

      assertThat(run.exitCode()).as(run.err()).isZero();
      assertThat(pinned.calls("/v1/join")).as("joined the pinned issuer again").isEqualTo(1);
      assertThat(certificates(out.resolve("tlscacerts")))
          .contains(pinned.authority().certificate())
          .doesNotContain(otherCa);
      assertThat(Files.readString(state.resolve("identity.json"))).doesNotContain(otherCaText);
    }
  }

  private static List<X509Certificate> certificates(Path pem) throws Exception {
    try (var in = Files.newInputStream(pem)) {
      return CertificateFactory.getInstance("X.509").generateCertificates(in).stream()
          .map(X509Certificate.class::cast)
          .toList();
    }
  }
}
