package dev.machineid.outputs.vault;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.IdentityException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.testkit.ManualScheduler;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.TestCertificateAuthority;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import dev.machineid.testkit.vault.CertRole;
import dev.machineid.testkit.vault.VaultSimulator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class VaultCertLoginTest {
  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create();

  private static final ObjectMapper JSON = new ObjectMapper();

  private MachineIdentity identity;
  private VaultSimulator vault;
  private final MutableClock vaultClock = MutableClock.systemUtc();

  @BeforeEach
  void start(TestBot bot) {
    identity = bot.identityBuilder().build();
    identity.start();
    String bots = "spiffe://" + identity.current().trustDomain() + "/bot/*";
    vault = VaultSimulator.builder()
        .trustedCAs(() -> identity.current().trustBundle())
        .role(CertRole.builder("orders")
            .allowedUriSans(bots)
            .policies("orders-read")
            .tokenTtl(Duration.ofMinutes(20))
            .build())
        .role(CertRole.builder("ten-minutes")
            .allowedUriSans(bots)
            .tokenTtl(Duration.ofMinutes(10))
            .build())
        .role(CertRole.builder("admins")
            .allowedCommonNames("admin-*")
            .policies("root-ish")
            .build())
        .clock(vaultClock)
        .start();
  }

  @AfterEach
  void stop() {
    vault.close();
    identity.close();
  }

  private VaultCertLogin.Builder login(String role) {
    return VaultCertLogin.builder(vault.address())
        .keyManager(identity.keyManager())
        .vaultTrust(vault.trustManager())
        .role(role);
  }

  @Test
  void logsInWithTheBotCertificateAndGetsATokenThatLookupSelfAccepts() throws Exception {
    try (VaultCertLogin login = login("orders").build()) {
      String token = login.token();

      assertThat(token).startsWith("hvs.");
      assertThat(vault.successfulLogins()).singleElement().satisfies(l -> {
        assertThat(l.serialHex()).isEqualTo(identity.current().serialHex());
        assertThat(l.role()).isEqualTo("orders");
      });
      HttpResponse<String> lookup = lookupSelf(token);
      assertThat(lookup.statusCode()).isEqualTo(200);
      JsonNode data = JSON.readTree(lookup.body()).path("data");
      assertThat(data.path("policies"))
          .extracting(JsonNode::asText)
          .containsExactly("default", "orders-read");
      assertThat(data.path("ttl").asLong()).isBetween(1L, 20 * 60L);
      assertThat(data.path("meta").path("cert_name").asText()).isEqualTo("orders");
      assertThat(data.path("meta").path("common_name").asText())
          .isEqualTo(identity
              .current()
              .certificate()
              .getSubjectX500Principal()
              .getName()
              .substring(3));
    }
  }

  @Test
  void lookupSelfRefusesAnUnknownOrExpiredTokenWithPermissionDenied() throws Exception {
    try (VaultCertLogin login = login("orders").build()) {
      String token = login.token();

      assertThat(lookupSelf("hvs.not-a-token").statusCode()).isEqualTo(403);
      vaultClock.advance(Duration.ofMinutes(21));
      HttpResponse<String> expired = lookupSelf(token);
      assertThat(expired.statusCode()).isEqualTo(403);
      assertThat(JSON.readTree(expired.body()).path("errors"))
          .extracting(JsonNode::asText)
          .containsExactly("permission denied");
    }
  }

  @Test
  void afterTheIdentityRenewsLoginNowPresentsTheNewCertificate() throws Exception {
    try (VaultCertLogin login = login("orders").build()) {
      login.token();
      String before = identity.current().serialHex();

      String after = identity.renewNow().get(20, TimeUnit.SECONDS).serialHex();
      login.loginNow();

      assertThat(after).isNotEqualTo(before);
      assertThat(vault.successfulLogins())
          .extracting(VaultSimulator.Login::serialHex)
          .containsExactly(before, after);
      assertThat(vault.isValid(login.token())).isTrue();
    }
  }

  /**
   * The refresh runs on a scheduler driven by the same clock as the simulator, so the lease moves
   * forward by the test and not by the machine's speed: none in the first half of the lease, one by
   * a second before its end, while the first token is still valid.
   */
  @Test
  void refreshesTheTokenBeforeItsLeaseEnds() throws Exception {
    try (ManualScheduler scheduler = ManualScheduler.on(vaultClock);
        VaultCertLogin login =
            login("ten-minutes").clock(vaultClock).scheduler(scheduler).build()) {
      VaultCertLogin.Lease first = login.lease();
      assertThat(Duration.between(vaultClock.instant(), first.expiresAt()))
          .isGreaterThan(Duration.ofMinutes(9));

      scheduler.advance(
          Duration.between(vaultClock.instant(), first.expiresAt()).dividedBy(2));
      assertThat(vault.successfulLogins())
          .as("logins in the first half of the lease")
          .hasSize(1);
      assertThat(login.lease().token()).isEqualTo(first.token());

      scheduler.advance(
          Duration.between(vaultClock.instant(), first.expiresAt()).minusSeconds(1));
      assertThat(vaultClock.instant()).isBefore(first.expiresAt());
      assertThat(vault.successfulLogins())
          .as("logins by a second before the lease ends")
          .hasSize(2);
      VaultSimulator.Login refresh = vault.successfulLogins().get(1);
      assertThat(refresh.at()).isBefore(first.expiresAt());
      assertThat(login.lease().token()).isNotEqualTo(first.token());
      assertThat(vault.isValid(login.token())).isTrue();
    }
  }

  @Test
  void aCertificateTheRoleDoesNotAllowFailsWithAnIdentityExceptionGivingVaultsReason() {
    try (VaultCertLogin login = login("admins").build()) {
      assertThatThrownBy(login::token)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining("HTTP 400")
          .hasMessageContaining("'admins'")
          .hasMessageContaining(VaultSimulator.NO_MATCHING_ROLE);
      assertThat(vault.logins()).singleElement().satisfies(l -> {
        assertThat(l.succeeded()).isFalse();
        assertThat(l.serialHex()).isEqualTo(identity.current().serialHex());
      });
    }
  }

  @Test
  void aCertificateFromAnUntrustedCaIsRefusedAsAnInvalidCertificate() {
    try (TestCertificateAuthority other = TestCertificateAuthority.create("not the issuer");
        VaultCertLogin login = VaultCertLogin.builder(vault.address())
            .keyManager(other
                .issueClientCertificate("bot-impostor", Duration.ofHours(1))
                .keyManager())
            .vaultTrust(vault.trustManager())
            .role("orders")
            .build()) {
      assertThatThrownBy(login::token)
          .isInstanceOf(IdentityException.class)
          .hasMessageContaining("HTTP 400")
          .hasMessageContaining(VaultSimulator.INVALID_CERTIFICATE);
      assertThat(vault.successfulLogins()).isEmpty();
    }
  }

  @Test
  void theTokenNeverAppearsInLogsOrToString() {
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    String token;
    String printed;
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try (VaultCertLogin login = login("orders").build()) {
      token = login.token();
      VaultCertLogin.Lease lease = login.loginNow();
      printed = login + " " + lease + " " + login.lease();
      token = token + "|" + lease.token();
    } finally {
      System.setErr(original);
    }
    String logs = captured.toString(StandardCharsets.UTF_8);

    assertThat(logs).contains("logged in to Vault"); // the capture works
    for (String t : token.split("\\|")) {
      assertThat(logs).doesNotContain(t);
      assertThat(printed).doesNotContain(t);
    }
  }

  private HttpResponse<String> lookupSelf(String token) throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, new TrustManager[] {vault.trustManager()}, null);
    HttpClient http = HttpClient.newBuilder().sslContext(tls).build();
    return http.send(
        HttpRequest.newBuilder(vault.address().resolve("/v1/auth/token/lookup-self"))
            .header("X-Vault-Token", token)
            .GET()
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
