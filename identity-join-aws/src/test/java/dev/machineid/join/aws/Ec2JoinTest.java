package dev.machineid.join.aws;

import static dev.machineid.join.aws.AwsFixtures.expectRejected;
import static dev.machineid.join.aws.AwsFixtures.sdk;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.BotInstance;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.aws.Ec2MetadataServer;
import dev.machineid.testkit.issuer.IssuerExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The {@code ec2} join method end to end: SDK → simulated IMDSv2 → issuer (docs/architecture.md §6, §11.4). */
class Ec2JoinTest {
  static final String ACCOUNT = "123456789012";
  /** The trusted "AWS" signer; every instance below signs with its own key, so each server gets its own cert. */
  static final Ec2MetadataServer TRUSTED = Ec2MetadataServer.builder().build();

  static final AtomicInteger BOTS = new AtomicInteger();

  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create(b -> b.verifierSettings(
      "ec2",
      Map.of("additional_certificates", TRUSTED.certificatePem(), "max_instance_age", "10m")));

  @AfterAll
  static void stop() {
    TRUSTED.close();
  }

  static String tokenFor(List<String> regions) {
    Issuer issuer = ISSUER.issuer();
    String bot = "ec2-bot-" + BOTS.incrementAndGet();
    issuer.bots().create(bot);
    Map<String, Object> rule = regions == null
        ? Map.of("aws_account", ACCOUNT)
        : Map.of("aws_account", ACCOUNT, "aws_regions", regions);
    issuer
        .tokens()
        .create(
            bot + "-token",
            bot,
            "ec2",
            Instant.now().plus(Duration.ofHours(1)),
            Map.of("allow", List.of(rule)));
    return bot + "-token";
  }

  static Ec2JoinMethod method(String token, Ec2MetadataServer imds) {
    return Ec2JoinMethod.builder().token(token).imdsEndpoint(imds.endpoint()).build();
  }

  @Test
  void ec2JoinByDocumentThenRenewsWithGenerations() throws Exception {
    try (Ec2MetadataServer imds = Ec2MetadataServer.builder().build();
        Issuer issuer = issuerTrusting(imds, "10m");
        MachineIdentity id = sdk(issuer, method(token(issuer), imds)).build()) {
      Identity first = id.start();
      BotInstance instance = issuer.instances().find(first.instanceId()).orElseThrow();
      assertThat(instance.joinMethod()).isEqualTo("ec2");
      assertThat(instance.initialAuthentication().metadata())
          .containsEntry("aws_account", ACCOUNT)
          .containsEntry("aws_region", "us-east-1");
      int imdsCalls = imds.requests().size();
      Identity second = id.renewNow().get();
      assertThat(second.instanceId()).isEqualTo(first.instanceId());
      assertThat(second.generation()).isEqualTo(2);
      // renewal is /v1/renew with generations: no new document was read
      assertThat(imds.requests()).hasSize(imdsCalls);
      assertThat(imds.requests())
          .contains(
              "PUT /latest/api/token",
              "GET /latest/dynamic/instance-identity/document",
              "GET /latest/dynamic/instance-identity/rsa2048");
    }
  }

  @Test
  void secondJoinOfTheSameLiveInstanceIsRejected() {
    try (Ec2MetadataServer imds = Ec2MetadataServer.builder().build();
        Issuer issuer = issuerTrusting(imds, "10m")) {
      String token = token(issuer);
      MachineIdentity first = sdk(issuer, method(token, imds)).build();
      first.start();
      // another process presenting the same instance's document while the first instance lives
      String reason = expectRejected(issuer, method(token, imds));
      first.close();
      assertThat(reason).startsWith("rule=first_use");
    }
  }

  @Test
  void documentSignedByAnotherCertificateIsRejected() {
    try (Ec2MetadataServer forger =
        Ec2MetadataServer.builder().certificateName("Forged").build()) {
      assertThat(expectRejected(ISSUER.issuer(), method(tokenFor(null), forger)))
          .startsWith("rule=signature");
    }
  }

  @Test
  void documentDifferingFromTheSignedContentIsRejected() {
    // the served document claims another account; the signature covers the original
    try (Ec2MetadataServer tampering = Ec2MetadataServer.builder()
        .tamperServedDocument(d -> d.replace(ACCOUNT, "999999999999"))
        .build()) {
      Issuer issuer = issuerTrusting(tampering, "10m");
      try (issuer) {
        String reason = expectRejected(issuer, method(token(issuer), tampering));
        assertThat(reason).startsWith("rule=document_mismatch");
      }
    }
  }

  @Test
  void pendingTimeOlderThanAllowedIsRejected() {
    try (Ec2MetadataServer old = Ec2MetadataServer.builder()
        .pendingTime(Instant.now().minus(Duration.ofHours(2)))
        .build()) {
      Issuer issuer = issuerTrusting(old, "1h");
      try (issuer) {
        assertThat(expectRejected(issuer, method(token(issuer), old)))
            .startsWith("rule=max_instance_age");
      }
    }
  }

  @Test
  void regionOutsideTheRulesIsRejected() {
    assertThat(expectRejected(ISSUER.issuer(), method(tokenFor(List.of("eu-west-1")), TRUSTED)))
        .startsWith("rule=aws_regions");
  }

  @Test
  void imdsRefusesDocumentsWithoutASessionToken() throws Exception {
    var http = java.net.http.HttpClient.newHttpClient();
    var r = http.send(
        java.net.http.HttpRequest.newBuilder(
                TRUSTED.endpoint().resolve("/latest/dynamic/instance-identity/document"))
            .build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(401);
    var put = http.send(
        java.net.http.HttpRequest.newBuilder(TRUSTED.endpoint().resolve("/latest/api/token"))
            .PUT(java.net.http.HttpRequest.BodyPublishers.noBody())
            .build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertThat(put.statusCode()).isEqualTo(400);
  }

  @Test
  void ec2TokenWithoutAwsAccountIsRefusedAtCreation() {
    Issuer issuer = ISSUER.issuer();
    issuer.bots().create("ec2-no-account");
    assertThatThrownBy(() -> issuer
            .tokens()
            .create(
                "ec2-no-account",
                "ec2-no-account",
                "ec2",
                Instant.now().plusSeconds(600),
                Map.of("allow", List.of(Map.of("aws_regions", List.of("us-east-1"))))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("aws_account");
  }

  private static Issuer issuerTrusting(Ec2MetadataServer imds, String maxAge) {
    return Issuer.builder()
        .verifierSettings(
            "ec2",
            Map.of("additional_certificates", imds.certificatePem(), "max_instance_age", maxAge))
        .build()
        .start();
  }

  private static String token(Issuer issuer) {
    String bot = "ec2-own-" + BOTS.incrementAndGet();
    issuer.bots().create(bot);
    issuer
        .tokens()
        .create(
            bot + "-token",
            bot,
            "ec2",
            Instant.now().plusSeconds(3600),
            Map.of("allow", List.of(Map.of("aws_account", ACCOUNT))));
    return bot + "-token";
  }
}
