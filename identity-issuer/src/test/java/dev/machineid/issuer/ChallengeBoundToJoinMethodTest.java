package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * docs/architecture.md §11, invariant 4 as written: a challenge is bound to its join method as well as to its token and
 * key. A challenge issued for one method is refused with {@code challenge_invalid} when redeemed
 * under another, before any verification, and uses up neither the token nor the challenge.
 */
class ChallengeBoundToJoinMethodTest {
  private Issuer issuer;
  private ProtocolClient client;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().build().start();
    issuer.bots().create("web");
    client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  private State state() {
    return new State(
        issuer.tokens().list(),
        issuer.instances().list("web"),
        issuer.audit().events().stream().filter(e -> !e.failed()).toList());
  }

  private record State(
      List<Token> tokens, List<BotInstance> instances, List<AuditEvent> successes) {}

  @ParameterizedTest
  @ValueSource(strings = {"iam", "ec2"})
  void aChallengeIssuedForAnotherMethodCannotRedeemATokenJoin(String otherMethod) {
    assertThat(issuer.joinMethods()).contains("token", otherMethod);
    String token = issuer.tokens().create("web", Duration.ofMinutes(10));
    KeyPair keys = ProtocolClient.ec();
    String foreign = client.challenge(otherMethod, token, keys);
    State before = state();

    ProtocolClient.Reply reply =
        client.post("/v1/join", ProtocolClient.joinRequest(token, foreign, keys, null));

    assertThat(reply.status()).as(reply.toString()).isEqualTo(401);
    assertThat(reply.code()).isEqualTo("challenge_invalid");
    assertThat(state()).isEqualTo(before);
    assertThat(issuer.tokens().list()).singleElement().satisfies(t -> assertThat(t.consumedAt())
        .isNull());
    // the same token, key and request with a challenge for the token method joins: only the method
    // differed
    ProtocolClient.Reply joined = client.post(
        "/v1/join",
        ProtocolClient.joinRequest(token, client.challenge("token", token, keys), keys, null));
    assertThat(joined.status()).as(joined.toString()).isEqualTo(200);
  }

  @ParameterizedTest
  @ValueSource(strings = {"iam", "ec2"})
  void aChallengeIssuedForTheTokenMethodCannotRedeemAnAwsJoin(String awsMethod) {
    issuer
        .tokens()
        .create(
            "aws-web",
            "web",
            awsMethod,
            Instant.now().plus(Duration.ofHours(1)),
            Map.of("allow", List.of(Map.of("aws_account", "123456789012"))));
    KeyPair keys = ProtocolClient.ec();
    String forToken = client.challenge("token", "aws-web", keys);
    ObjectNode join =
        ProtocolClient.joinRequest("aws-web", forToken, keys, null).put("join_method", awsMethod);
    ObjectNode proof = join.putObject("proof");
    if (awsMethod.equals("iam")) {
      proof
          .putObject("sts_request")
          .put("method", "POST")
          .put("url", "https://sts.amazonaws.com/")
          .put("body", "Action=GetCallerIdentity&Version=2011-06-15")
          .putObject("headers");
    } else {
      proof.put("document", "{}").put("signature", "AAAA");
    }
    State before = state();

    ProtocolClient.Reply reply = client.post("/v1/join", join);

    // refused for the challenge, before the proof is looked at (which would say proof_rejected)
    assertThat(reply.status()).as(reply.toString()).isEqualTo(401);
    assertThat(reply.code()).isEqualTo("challenge_invalid");
    assertThat(state()).isEqualTo(before);
    assertThat(issuer.audit().events())
        .filteredOn(AuditEvent::failed)
        .isNotEmpty()
        .last()
        .satisfies(e -> assertThat(String.valueOf(e.detail())).contains("challenge"));
  }
}
