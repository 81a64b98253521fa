package dev.machineid.join.aws;

import static dev.machineid.join.aws.AwsFixtures.sdk;
import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.Issuer;
import dev.machineid.testkit.aws.StsSimulator;
import dev.machineid.testkit.issuer.IssuerExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.regions.Region;

/**
 * EKS IRSA: with only the web identity settings an EKS pod gets (token file and role ARN), the iam
 * join method's default credential chain exchanges the token at STS (AssumeRoleWithWebIdentity) and
 * joins with the resulting role session. The SDK is pointed at the simulator through its own
 * endpoint setting {@code aws.endpointUrlSts}; nothing in the join method knows about the test.
 */
class IrsaJoinTest {
  static final String ACCOUNT = "123456789012";
  static final StsSimulator STS = StsSimulator.start();

  @RegisterExtension
  static final IssuerExtension ISSUER = IssuerExtension.create(b -> b.verifierSettings(
      "iam",
      Map.of("additional_sts_endpoints", List.of(STS.hostPort()), "sts_ca_pem", STS.caPem())));

  @AfterAll
  static void stopSts() {
    STS.close();
  }

  /** The SDK's settings as system properties (the same names as EKS's environment variables, in property form). */
  static Map<String, String> irsa(Path tokenFile) {
    return Map.of(
        "aws.webIdentityTokenFile",
        tokenFile.toString(),
        "aws.roleArn",
        "arn:aws:iam::" + ACCOUNT + ":role/irsa-app",
        "aws.roleSessionName",
        "irsa-pod-1",
        "aws.region",
        "us-east-1",
        "aws.endpointUrlSts",
        STS.httpEndpoint().toString());
  }

  @Test
  void anEksPodJoinsWithTheRoleItsWebIdentityTokenAssumes(@TempDir Path dir) throws Exception {
    String webToken = "eyJhbGciOiJSUzI1NiJ9.irsa-test-token.signature";
    Path tokenFile = Files.writeString(dir.resolve("token"), webToken);
    STS.allowWebIdentity(webToken, "arn:aws:iam::" + ACCOUNT + ":role/irsa-app");
    Issuer issuer = ISSUER.issuer();
    issuer.bots().create("irsa-bot");
    issuer
        .tokens()
        .create(
            "irsa-token",
            "irsa-bot",
            "iam",
            Instant.now().plus(Duration.ofHours(1)),
            Map.of(
                "allow",
                List.of(Map.of(
                    "aws_account",
                    ACCOUNT,
                    "aws_arn",
                    "arn:aws:sts::" + ACCOUNT + ":assumed-role/irsa-app/*"))));

    Map<String, String> saved = new HashMap<>();
    irsa(tokenFile).forEach((k, v) -> saved.put(k, System.setProperty(k, v)));
    try {
      IamJoinMethod method = IamJoinMethod.builder()
          .token("irsa-token")
          .region(Region.US_EAST_1)
          .stsEndpoint(STS.endpoint())
          .build();
      try (MachineIdentity id = sdk(issuer, method).build()) {
        Identity identity = id.start();
        assertThat(identity.botName()).isEqualTo("irsa-bot");
        assertThat(issuer
                .instances()
                .find(identity.instanceId())
                .orElseThrow()
                .initialAuthentication()
                .metadata())
            .containsEntry(
                "aws_arn", "arn:aws:sts::" + ACCOUNT + ":assumed-role/irsa-app/irsa-pod-1");
      }
      List<StsSimulator.Received> exchanges = STS.received().stream()
          .filter(r -> r.body().contains("Action=AssumeRoleWithWebIdentity"))
          .toList();
      assertThat(exchanges).isNotEmpty();
      assertThat(exchanges.get(0).status()).isEqualTo(200);
      assertThat(exchanges.get(0).headers()).doesNotContainKey("authorization");
    } finally {
      saved.forEach((k, v) -> {
        if (v == null) {
          System.clearProperty(k);
        } else {
          System.setProperty(k, v);
        }
      });
    }
  }
}
