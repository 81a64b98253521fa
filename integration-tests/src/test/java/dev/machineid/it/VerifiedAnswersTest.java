package dev.machineid.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.machineid.core.AnswerRefusedException;
import dev.machineid.core.CaPin;
import dev.machineid.core.ConfigException;
import dev.machineid.core.Health;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.protocol.Pem;
import dev.machineid.core.storage.Storage;
import dev.machineid.core.storage.StoredIdentity;
import dev.machineid.testkit.FakeIssuer;
import dev.machineid.testkit.TestCertificateAuthority;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Security invariant 18: the client keeps only answers it verified. Each bad answer comes from a
 * {@link FakeIssuer} that holds the pinned authority's key, so only the client's own checks stop it.
 */
class VerifiedAnswersTest {
  @TempDir
  Path state;

  private TestCertificateAuthority ca;
  private FakeIssuer fake;

  @BeforeEach
  void startFake() {
    ca = TestCertificateAuthority.create("pinned authority");
    fake =
        FakeIssuer.builder().authority(ca).bot("app").trustDomain("fake.test").start();
  }

  @AfterEach
  void stopFake() {
    fake.close();
  }

  private MachineIdentity.Builder identity() {
    return fake.identityBuilder()
        .storage(Storage.directory(state))
        .credentialTtl(Duration.ofMinutes(30))
        .renewalPolicy(RenewalPolicy.builder()
            .retryBaseDelay(Duration.ofMinutes(10))
            .retryMaxDelay(Duration.ofMinutes(10))
            .build());
  }

  /** Joins honestly, scripts the next answer, renews, and checks that the refusal changed nothing. */
  private AnswerRefusedException refusedRenewal(Consumer<FakeIssuer.IdentityAnswer> edit)
      throws Exception {
    try (MachineIdentity id = identity().build()) {
      Identity before = id.start();
      StoredIdentity storedBefore = Storage.directory(state).load().orElseThrow();
      var authorityBefore = id.trustBundle().orElseThrow();
      fake.answerNext(edit);

      Throwable thrown = null;
      try {
        id.renewNow().join();
      } catch (CompletionException e) {
        thrown = e.getCause();
      }

      assertThat(thrown).isInstanceOf(AnswerRefusedException.class);
      assertThat(fake.calls("/v1/renew")).isEqualTo(1);
      assertUnchanged(id, before, storedBefore, authorityBefore);
      return (AnswerRefusedException) thrown;
    }
  }

  private void assertUnchanged(
      MachineIdentity id,
      Identity before,
      StoredIdentity storedBefore,
      dev.machineid.core.TrustBundle authorityBefore) {
    assertThat(id.current()).isSameAs(before);
    assertThat(id.current().generation()).isEqualTo(before.generation());
    assertThat(id.current().trustBundle()).isEqualTo(before.trustBundle());
    assertThat(id.trustBundle()).contains(authorityBefore);
    assertThat(id.health().state()).isEqualTo(Health.State.DEGRADED);
    StoredIdentity storedAfter = Storage.directory(state).load().orElseThrow();
    assertThat(storedAfter.issued()).isEqualTo(storedBefore.issued());
    assertThat(storedAfter.privateKey()).isEqualTo(storedBefore.privateKey());
  }

  @Test
  void anExpiredAnswerNeverReplacesAValidIdentity() throws Exception {
    AnswerRefusedException e =
        refusedRenewal(a -> a.notBefore(Instant.now().minus(Duration.ofHours(2)))
            .notAfter(Instant.now().minus(Duration.ofHours(1))));
    assertThat(e).hasMessageContaining("expired");
  }

  @Test
  void aNotYetValidAnswerIsRefused() throws Exception {
    AnswerRefusedException e =
        refusedRenewal(a -> a.notBefore(Instant.now().plus(Duration.ofHours(2)))
            .notAfter(Instant.now().plus(Duration.ofHours(2)).plus(a.asked())));
    assertThat(e).hasMessageContaining("not valid before");
  }

  @Test
  void anAnswerLongerThanAskedIsRefused() throws Exception {
    AnswerRefusedException e =
        refusedRenewal(a -> a.notAfter(a.notBefore().plus(Duration.ofHours(2))));
    assertThat(e).hasMessageContaining("longer than asked");
  }

  @Test
  void anAnswerForAnotherBotIsRefused() throws Exception {
    AnswerRefusedException renewal = refusedRenewal(a -> a.bot("other"));
    assertThat(renewal).hasMessageContaining("bot 'other'");
  }

  @Test
  void aJoinAnswerWhoseCertificateNamesAnotherBotThanItsJsonIsRefused() {
    fake.answerNext(a -> a.certificateBot("other"));
    try (MachineIdentity id = identity().build()) {
      assertThatThrownBy(id::start)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining("spiffe://fake.test/bot/other");
      assertThat(Storage.directory(state).load()).isEmpty();
    }
  }

  @Test
  void anAnswerInAnotherTrustDomainIsRefused() throws Exception {
    AnswerRefusedException e = refusedRenewal(a -> a.trustDomain("elsewhere.test"));
    assertThat(e).hasMessageContaining("trust domain 'elsewhere.test'");
  }

  @Test
  void anAnswerWithTheWrongGenerationIsRefused() throws Exception {
    AnswerRefusedException e = refusedRenewal(a -> a.generation(a.generation() + 1));
    assertThat(e).hasMessageContaining("generation 3").hasMessageContaining("next generation is 2");
  }

  @Test
  void anAnswerNotChainingToTheTrustedAuthorityIsRefused() throws Exception {
    TestCertificateAuthority other = TestCertificateAuthority.create("not the pinned authority");
    AnswerRefusedException e = refusedRenewal(a -> a.signedBy(other));
    assertThat(e)
        .hasMessageContaining("does not verify to an authority this client already trusts");
  }

  @Test
  void aRefusedAnswerChangesNothing() throws Exception {
    KeyPair intermediateKey = ecKey();
    X509Certificate intermediate =
        fake.issueAuthority("rotated authority", intermediateKey.getPublic());
    byte[] fileBefore;
    try (MachineIdentity id = identity().build()) {
      Identity before = id.start();
      fileBefore = Files.readAllBytes(state.resolve("identity.json"));
      StoredIdentity storedBefore = Storage.directory(state).load().orElseThrow();
      var authorityBefore = id.trustBundle().orElseThrow();
      // a bad answer that also carries a bundle the client would otherwise install
      fake.answerNext(
          a -> a.notAfter(Instant.now().minusSeconds(5)).addToTrustBundle(intermediate));

      assertThatThrownBy(() -> id.renewNow().join())
          .hasCauseInstanceOf(AnswerRefusedException.class);

      assertUnchanged(id, before, storedBefore, authorityBefore);
      assertThat(id.current().trustBundle()).doesNotContain(intermediate);
      assertThat(id.trustBundle().orElseThrow().x509Authorities()).doesNotContain(intermediate);
    }
    // the stored file differs at most by the key of the renewal in flight, kept to retry it
    StoredIdentity after = Storage.directory(state).load().orElseThrow();
    assertThat(after.issued().generation()).isEqualTo(1);
    assertThat(new String(fileBefore, java.nio.charset.StandardCharsets.UTF_8))
        .contains(
            Pem.encode(after.privateKey()).strip().lines().skip(1).findFirst().orElseThrow());
  }

  @Test
  void aBundleFromARefusedAnswerIsNotInstalled() throws Exception {
    KeyPair intermediateKey = ecKey();
    X509Certificate intermediate =
        fake.issueAuthority("rotated authority", intermediateKey.getPublic());
    try (MachineIdentity id = identity().build()) {
      id.start();
      fake.answerNext(a -> a.generation(7).addToTrustBundle(intermediate));
      assertThatThrownBy(() -> id.renewNow().join())
          .hasCauseInstanceOf(AnswerRefusedException.class);
      assertThat(id.current().trustBundle()).doesNotContain(intermediate);

      // the same bundle in an answer that is kept is installed: the refusal, not the bundle, kept
      // it out
      fake.answerNext(a -> a.addToTrustBundle(intermediate));
      Identity renewed = id.renewNow().join();
      assertThat(renewed.trustBundle()).contains(intermediate);
    }
  }

  @Test
  void aBotLeafInTheBundleIsNotATrustAnchor() throws Exception {
    KeyPair stolenBotKey = ecKey();
    X509Certificate botLeaf = fake.issueLeaf("bot-app", stolenBotKey.getPublic());
    fake.addToTrustBundle(botLeaf);
    try (MachineIdentity id = identity().build()) {
      Identity identity = id.start();
      assertThat(identity.trustBundle()).containsExactly(ca.certificate());
      assertThat(id.renewNow().join().trustBundle()).containsExactly(ca.certificate());

      // whoever holds the bot's key signs a server certificate; it must not be trusted
      X509Certificate impostor = FakeIssuer.serverCertificateSignedBy(
          botLeaf, stolenBotKey.getPrivate(), ecKey().getPublic());
      assertThatThrownBy(() -> id.trustManager()
              .checkServerTrusted(new X509Certificate[] {impostor, botLeaf}, "ECDHE_ECDSA"))
          .isInstanceOf(CertificateException.class);
      assertThatThrownBy(() ->
              id.trustManager().checkServerTrusted(new X509Certificate[] {impostor}, "ECDHE_ECDSA"))
          .isInstanceOf(CertificateException.class);
    }
  }

  @Test
  void theClientKeepsOnlyAnswersItVerified() throws Exception {
    TestCertificateAuthority other = TestCertificateAuthority.create("another authority");
    X509Certificate leafInBundle = fake.issueLeaf("bot-app", ecKey().getPublic());
    try (MachineIdentity id = identity().build()) {
      Identity before = id.start();
      List<Consumer<FakeIssuer.IdentityAnswer>> bad = List.of(
          a -> a.signedBy(other),
          a -> a.notAfter(Instant.now().minusSeconds(1)),
          a -> a.notBefore(Instant.now().plus(Duration.ofHours(1)))
              .notAfter(Instant.now().plus(Duration.ofHours(2))),
          a -> a.notAfter(a.notBefore().plus(Duration.ofDays(2))),
          a -> a.bot("intruder"),
          a -> a.trustDomain("elsewhere.test"),
          a -> a.generation(1),
          a -> a.instanceId("another-instance"));
      for (Consumer<FakeIssuer.IdentityAnswer> edit : bad) {
        fake.answerNext(a -> {
          edit.accept(a);
          a.addToTrustBundle(leafInBundle);
        });
        assertThatThrownBy(() -> id.renewNow().join())
            .hasCauseInstanceOf(AnswerRefusedException.class);
        assertThat(id.current()).isSameAs(before);
        assertThat(Storage.directory(state).load().orElseThrow().issued().generation())
            .isEqualTo(1);
      }
      // the honest answer is kept, at the next generation, with a bundle of CA certificates only
      fake.answerNext(a -> a.addToTrustBundle(leafInBundle));
      Identity renewed = id.renewNow().join();
      assertThat(renewed.generation()).isEqualTo(2);
      assertThat(renewed.trustBundle()).containsExactly(ca.certificate());
      assertThat(Storage.directory(state).load().orElseThrow().issued().generation())
          .isEqualTo(2);
      assertThat(id.health().state()).isEqualTo(Health.State.HEALTHY);
    }
  }

  @Test
  void aWrongPinFailsAtOnce() {
    CaPin wrong = CaPin.of(TestCertificateAuthority.create("not the issuer").certificate());
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(fake.url())
        .caPin(wrong)
        .token(fake.token())
        .startTimeout(Duration.ofSeconds(30))
        .build()) {
      long t0 = System.nanoTime();
      Throwable thrown = org.assertj.core.api.Assertions.catchThrowable(id::start);
      Duration took = Duration.ofNanos(System.nanoTime() - t0);

      assertThat(thrown)
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining(wrong.toString())
          .hasMessageNotContaining(fake.caPin().toString())
          .hasMessageNotContaining("reachable");
      assertThat(took).isLessThan(Duration.ofSeconds(2));
    }
    assertThat(fake.calls("/v1/join")).isZero();
  }

  @Test
  void aRequestTimeoutSaysItTimedOut() {
    fake.hang(true);
    try (MachineIdentity id = fake.identityBuilder()
        .requestTimeout(Duration.ofMillis(700))
        .renewalPolicy(RenewalPolicy.builder()
            .retryBaseDelay(Duration.ofMinutes(5))
            .retryMaxDelay(Duration.ofMinutes(5))
            .build())
        .build()) {
      Thread starter = new Thread(() -> {
        try {
          id.start();
        } catch (RuntimeException expected) {
          // start() times out later; the health already says why
        }
      });
      starter.setDaemon(true);
      starter.start();
      await().atMost(Duration.ofSeconds(8)).until(() -> id.health().lastError() != null);
      assertThat(id.health().lastError())
          .contains("timed out")
          .contains("700ms")
          .doesNotContain("Socket closed");
    } finally {
      fake.hang(false);
    }
  }

  @Test
  void aRoleCredentialFromAnotherAuthorityOrAlreadyExpiredIsRefused() {
    TestCertificateAuthority other = TestCertificateAuthority.create("not the database authority");
    try (MachineIdentity id = identity().build()) {
      id.start();
      var request = dev.machineid.core.CredentialRequest.builder(
              dev.machineid.core.CredentialKind.DATABASE)
          .databaseUser("app")
          .roles("db")
          .ttl(Duration.ofMinutes(10))
          .build();
      fake.credentialNext(c -> c.signedBy(other));
      assertThatThrownBy(() -> id.credentials(request))
          .isInstanceOf(AnswerRefusedException.class)
          .hasMessageContaining("database authority");
      fake.credentialNext(c -> c.notAfter(Instant.now().minusSeconds(1)));
      assertThatThrownBy(() -> id.credentials(request))
          .isInstanceOf(AnswerRefusedException.class)
          .hasMessageContaining("expired");
      fake.credentialNext(c -> c.notAfter(c.notBefore().plus(Duration.ofMinutes(50))));
      assertThatThrownBy(() -> id.credentials(request))
          .isInstanceOf(AnswerRefusedException.class)
          .hasMessageContaining("longer than");
      try (var handle = id.credentials(request)) {
        assertThat(handle.current().certificate()).isPresent();
      }
    }
  }

  private static KeyPair ecKey() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }
}
