package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A duration or time so far out that it leaves what the issuer can record — beyond
 * {@link java.time.Instant}'s range, or beyond an SQL timestamp's years 1 to 9999 — is a
 * {@code 400 malformed_request} naming the field, and changes nothing; never a 5xx.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FarTimesTest {
  private Issuer issuer;
  private ProtocolClient admin;

  @BeforeAll
  void start() {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("web");
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create("web", Duration.ofMinutes(10)), keys, null)
        .as(IdentityResponse.class);
    KeyPair adminKeys = ProtocolClient.ec();
    X509Certificate cert =
        issuer.admins().issueCertificate("ops", adminKeys.getPublic(), Duration.ofHours(1));
    admin = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), adminKeys.getPrivate(), new X509Certificate[] {
          cert
        });
  }

  @AfterAll
  void stop() {
    issuer.close();
  }

  // 9999999999999h is beyond Instant's range; 99999999999h (11 million years) is an Instant no SQL
  // timestamp holds
  static Stream<Arguments> farOut() {
    return Stream.of("9999999999999h", "99999999999h")
        .flatMap(d -> Stream.of(
            Arguments.of(
                "POST",
                "/v1/admin/locks",
                "{\"target\":\"bot\",\"value\":\"nobody\",\"ttl\":\"" + d + "\"}",
                "ttl"),
            Arguments.of(
                "POST",
                "/v1/admin/tokens",
                "{\"kind\":\"token\",\"version\":\"v1\",\"metadata\":{\"name\":\"far\"},"
                    + "\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"ttl\":\"" + d
                    + "\"}}",
                "spec.ttl"),
            Arguments.of("GET", "/v1/admin/audit?since=" + d, null, "since"),
            Arguments.of("POST", "/v1/admin/audit/prune", "{\"before\":\"" + d + "\"}", "before")))
        .collect(java.util.stream.Collectors.collectingAndThen(
            java.util.stream.Collectors.toList(), l -> {
              l.add(Arguments.of(
                  "POST",
                  "/v1/admin/tokens",
                  "{\"kind\":\"token\",\"version\":\"v1\",\"metadata\":{\"name\":\"far\"},"
                      + "\"spec\":{\"bot_name\":\"web\",\"join_method\":\"token\",\"expires\":\"+100000-01-01T00:00:00Z\"}}",
                  "spec.expires"));
              l.add(Arguments.of(
                  "GET", "/v1/admin/audit?since=-100000-01-01T00:00:00Z", null, "since"));
              return l.stream();
            }));
  }

  @ParameterizedTest(name = "{0} {1} {3}")
  @MethodSource("farOut")
  void aTimeBeyondWhatTheIssuerRecordsIsMalformedRequestNamingTheFieldAndChangesNothing(
      String method, String path, String body, String field) {
    List<Lock> locks = issuer.locks().list();
    int tokens = issuer.tokens().list().size();
    long changes = issuer.audit().events().stream().filter(e -> !e.failed()).count();

    ProtocolClient.Reply reply = body == null ? admin.get(path) : admin.post(path, body);

    assertThat(reply.status()).as(reply.toString()).isEqualTo(400);
    assertThat(reply.code()).as(reply.toString()).isEqualTo("malformed_request");
    assertThat(reply.json().path("detail").asText())
        .as(reply.toString())
        .contains(field)
        .doesNotContain("Exception");
    assertThat(issuer.locks().list()).isEqualTo(locks);
    assertThat(issuer.tokens().list()).hasSize(tokens);
    assertThat(issuer.audit().events().stream().filter(e -> !e.failed()).count())
        .as("no change was recorded")
        .isEqualTo(changes);
  }
}
