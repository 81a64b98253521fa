package dev.machineid.join.aws;

import static dev.machineid.join.aws.AwsFixtures.expectRejected;
import static dev.machineid.join.aws.AwsFixtures.mutating;
import static dev.machineid.join.aws.AwsFixtures.sdk;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.BotInstance;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.aws.StsSimulator;
import dev.machineid.testkit.issuer.IssuerExtension;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;

/** The {@code iam} join method end to end: SDK → issuer → simulated STS (docs/architecture.md §6, §11.4, §11.6). */
class IamJoinTest {
  static final String ACCOUNT = "123456789012";
  static final StsSimulator STS = StsSimulator.start();
  static final AtomicInteger BOTS = new AtomicInteger();

  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create(b -> b.verifierSettings(
      "iam",
      Map.of("additional_sts_endpoints", List.of(STS.hostPort()), "sts_ca_pem", STS.caPem())));

  @AfterAll
  static void stopSts() {
    STS.close();
  }

  /** A bot and an iam token allowing the account, optionally narrowed by an ARN glob. */
  static String tokenFor(String arnGlob) {
    Issuer issuer = ISSUER.issuer();
    String bot = "iam-bot-" + BOTS.incrementAndGet();
    issuer.bots().create(bot);
    Map<String, Object> rule = arnGlob == null
        ? Map.of("aws_account", ACCOUNT)
        : Map.of("aws_account", ACCOUNT, "aws_arn", arnGlob);
    issuer
        .tokens()
        .create(
            bot + "-token",
            bot,
            "iam",
            Instant.now().plus(Duration.ofHours(1)),
            Map.of("allow", List.of(rule)));
    return bot + "-token";
  }

  static IamJoinMethod method(String token, StsSimulator.Principal p) {
    var creds = p.sessionToken() == null
        ? AwsBasicCredentials.create(p.accessKeyId(), p.secretAccessKey())
        : AwsSessionCredentials.create(p.accessKeyId(), p.secretAccessKey(), p.sessionToken());
    return IamJoinMethod.builder()
        .token(token)
        .credentialsProvider(StaticCredentialsProvider.create(creds))
        .region(Region.US_EAST_1)
        .stsEndpoint(STS.endpoint())
        .build();
  }

  static StsSimulator.Principal role() {
    return STS.addRoleSession(ACCOUNT, "app", "session-" + BOTS.incrementAndGet());
  }

  @Test
  void iamJoinIssuesAnIdentityAndRecordsAccountAndArnAndEachRenewalReattestsKeepingTheInstance()
      throws Exception {
    String token = tokenFor("arn:aws:sts::" + ACCOUNT + ":assumed-role/app/*");
    StsSimulator.Principal p = role();
    int stsBefore = STS.received().size();
    try (MachineIdentity id = sdk(ISSUER.issuer(), method(token, p)).build()) {
      Identity first = id.start();
      assertThat(first.botName()).startsWith("iam-bot-");
      BotInstance instance =
          ISSUER.issuer().instances().find(first.instanceId()).orElseThrow();
      assertThat(instance.joinMethod()).isEqualTo("iam");
      assertThat(instance.initialAuthentication().metadata())
          .containsEntry("aws_account", ACCOUNT)
          .containsEntry("aws_arn", p.arn());
      assertThat(STS.received().size()).isEqualTo(stsBefore + 1);
      assertThat(STS.received().get(STS.received().size() - 1).headers())
          .containsKey("x-machine-identity-challenge");

      Identity second = id.renewNow().get();
      Identity third = id.renewNow().get();
      assertThat(second.instanceId()).isEqualTo(first.instanceId());
      assertThat(third.instanceId()).isEqualTo(first.instanceId());
      assertThat(third.generation()).isEqualTo(3);
      assertThat(third.serialNumber()).isNotEqualTo(second.serialNumber());
      // every renewal re-attested with STS
      assertThat(STS.received().size()).isEqualTo(stsBefore + 3);
      assertThat(ISSUER.issuer().instances().list(first.botName())).hasSize(1);
      assertThat(ISSUER
              .issuer()
              .instances()
              .find(first.instanceId())
              .orElseThrow()
              .latestAuthentication()
              .metadata())
          .containsEntry("aws_arn", p.arn());
    }
  }

  @Test
  void stsJsonRepliesAreParsedToo() {
    String token = tokenFor(null);
    StsSimulator.Principal p = STS.addUser(ACCOUNT, "arn:aws:iam::" + ACCOUNT + ":user/ci");
    IamJoinMethod json = method(token, p);
    try (MachineIdentity id = sdk(ISSUER.issuer(), mutating(json, (proof, c) -> headers(proof)
            .put("Accept", "application/json")))
        .build()) {
      assertThat(id.start().botName()).startsWith("iam-bot-");
    }
    assertThat(STS.received().get(STS.received().size() - 1).headers())
        .containsEntry("accept", "application/json");
  }

  @Test
  void challengeHeaderMissingIsRejected() {
    // the header is removed after signing, so the signature would also fail; the verifier refuses
    // first
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> headers(proof)
            .remove("X-Machine-Identity-Challenge")));
    assertThat(reason).startsWith("rule=challenge_missing");
  }

  @Test
  void challengeHeaderNotAmongSignedHeadersIsRejected() {
    String reason =
        expectRejected(ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> {
          ObjectNode h = headers(proof);
          h.put(
              "Authorization",
              h.get("Authorization")
                  .asText()
                  .replace("x-machine-identity-challenge;", "")
                  .replace(";x-machine-identity-challenge", ""));
        }));
    assertThat(reason).startsWith("rule=challenge_unsigned");
  }

  @Test
  void challengeHeaderForAnotherChallengeIsRejected() {
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> headers(proof)
            .put("X-Machine-Identity-Challenge", "AAAAAAAAAAAAAAAAAAAAAA")));
    assertThat(reason).startsWith("rule=challenge_mismatch");
  }

  @Test
  void replayedProofFromAnotherClientIsRejected() {
    String token = tokenFor(null);
    StsSimulator.Principal p = role();
    AtomicReference<ObjectNode> captured = new AtomicReference<>();
    try (MachineIdentity victim = sdk(
            ISSUER.issuer(),
            mutating(method(token, p), (proof, c) -> captured.set(proof.deepCopy())))
        .build()) {
      victim.start();
    }
    // the attacker gets its own challenge but can only present the captured, signed request
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(token, p), (proof, c) -> proof.setAll(captured.get())));
    assertThat(reason).startsWith("rule=challenge_mismatch");
  }

  @Test
  void issuerForwardsIamRequestsOnlyToKnownStsEndpoints() throws Exception {
    AtomicInteger connections = new AtomicInteger();
    try (ServerSocket decoy = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Thread acceptor = new Thread(
          () -> {
            while (!decoy.isClosed()) {
              try {
                Socket s = decoy.accept();
                connections.incrementAndGet();
                s.close();
              } catch (IOException e) {
                return;
              }
            }
          },
          "decoy-sts");
      acceptor.setDaemon(true);
      acceptor.start();
      String decoyUrl = "https://127.0.0.1:" + decoy.getLocalPort() + "/";
      for (String url :
          List.of(decoyUrl, "https://sts.amazonaws.com.evil.example/", "https://evil.example/")) {
        String reason =
            expectRejected(ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> {
              ((ObjectNode) proof.get("sts_request")).put("url", url);
              headers(proof).remove("Host");
            }));
        assertThat(reason).startsWith("rule=sts_endpoint");
      }
      assertThat(connections.get()).isZero();
    }
  }

  @Test
  void otherActionIsRejected() {
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> ((ObjectNode)
                proof.get("sts_request"))
            .put("body", "Action=AssumeRole&Version=2011-06-15&RoleArn=x")));
    assertThat(reason).startsWith("rule=action");
  }

  @Test
  void queryStringIsRejected() {
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> ((ObjectNode)
                proof.get("sts_request"))
            .put("url", STS.endpoint() + "?Action=GetCallerIdentity&Version=2011-06-15")));
    assertThat(reason).startsWith("rule=query_string");
  }

  @Test
  void getRequestIsRejected() {
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> ((ObjectNode)
                proof.get("sts_request"))
            .put("method", "GET")));
    assertThat(reason).startsWith("rule=method");
  }

  @Test
  void unknownHeaderIsRejected() {
    String reason = expectRejected(
        ISSUER.issuer(), mutating(method(tokenFor(null), role()), (proof, c) -> headers(proof)
            .put("X-Forwarded-Host", "evil.example")));
    assertThat(reason).startsWith("rule=headers");
  }

  @Test
  void issuerNeverFollowsStsRedirects() {
    try (StsSimulator redirecting = StsSimulator.start()) {
      // the redirecting STS is a known endpoint; it points at the real simulator, which must see
      // nothing
      Issuer issuer = Issuer.builder()
          .verifierSettings(
              "iam",
              Map.of(
                  "additional_sts_endpoints",
                  List.of(redirecting.hostPort(), STS.hostPort()),
                  "sts_ca_pem",
                  redirecting.caPem() + STS.caPem()))
          .build()
          .start();
      try (issuer) {
        issuer.bots().create("redirected");
        issuer
            .tokens()
            .create(
                "redirected-token",
                "redirected",
                "iam",
                Instant.now().plusSeconds(3600),
                Map.of("allow", List.of(Map.of("aws_account", ACCOUNT))));
        redirecting.redirectTo(STS.endpoint());
        StsSimulator.Principal p = role();
        int before = STS.received().size();
        IamJoinMethod m = IamJoinMethod.builder()
            .token("redirected-token")
            .credentialsProvider(StaticCredentialsProvider.create(AwsSessionCredentials.create(
                p.accessKeyId(), p.secretAccessKey(), p.sessionToken())))
            .region(Region.US_EAST_1)
            .stsEndpoint(redirecting.endpoint())
            .build();
        assertThat(expectRejected(issuer, m)).startsWith("rule=sts_redirect");
        assertThat(redirecting.received()).hasSize(1);
        assertThat(STS.received()).hasSize(before);
      }
    }
  }

  @Test
  void arnOutsideTheRulesIsRejected() {
    String reason = expectRejected(
        ISSUER.issuer(),
        method(tokenFor("arn:aws:sts::" + ACCOUNT + ":assumed-role/deployer/*"), role()));
    assertThat(reason).startsWith("rule=aws_arn");
  }

  @Test
  void arnGlobDoesNotMatchAcrossSlash() {
    // "assumed-role/*" must not match "assumed-role/app/session"
    String reason = expectRejected(
        ISSUER.issuer(), method(tokenFor("arn:aws:sts::" + ACCOUNT + ":assumed-role/*"), role()));
    assertThat(reason).startsWith("rule=aws_arn");
  }

  @Test
  void accountOutsideTheRulesIsRejected() {
    StsSimulator.Principal stranger = STS.addRoleSession("210987654321", "app", "s");
    String reason = expectRejected(ISSUER.issuer(), method(tokenFor(null), stranger));
    assertThat(reason).startsWith("rule=aws_account");
  }

  @Test
  void iamTokenWithoutAwsAccountIsRefusedAtCreation() {
    Issuer issuer = ISSUER.issuer();
    issuer.bots().create("iam-no-account");
    assertThatThrownBy(() -> issuer
            .tokens()
            .create(
                "iam-no-account",
                "iam-no-account",
                "iam",
                Instant.now().plusSeconds(600),
                Map.of(
                    "allow", List.of(Map.of("aws_arn", "arn:aws:iam::" + ACCOUNT + ":role/app")))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("aws_account");
  }

  private static ObjectNode headers(ObjectNode proof) {
    return (ObjectNode) proof.get("sts_request").get("headers");
  }
}
