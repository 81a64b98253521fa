package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.testkit.ProtocolClient;
import dev.machineid.testkit.aws.Ec2MetadataServer;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A delegated join finds its token resource by key: the rows it reads do not grow with the number
 * of tokens stored (counted at the store, not timed), whether the join is refused or succeeds.
 * The issuer trusts the testkit's simulated EC2 instance metadata service as its document signer,
 * so an {@code ec2} join can succeed here.
 */
class DelegatedJoinTokenLookupTest {
  private static final int STORED = 10_000;
  private Ec2MetadataServer imds;
  private HookedStore store;
  private Issuer issuer;

  @BeforeEach
  void start() {
    imds = Ec2MetadataServer.builder().build();
    store = new HookedStore(IssuerStore.inMemory());
    issuer = Issuer.builder()
        .store(store)
        .verifierSettings(
            "ec2",
            Map.of("additional_certificates", imds.certificatePem(), "max_instance_age", "10m"))
        .build()
        .start();
    issuer.bots().create("web");
    Instant now = Instant.now();
    store.inTransaction(tx -> {
      for (int i = 0; i < STORED; i++) {
        tx.insertToken(new Token(
            String.format("%064x", i), "web", "token", now, now.plus(Duration.ofHours(1)), null));
      }
      return null;
    });
    issuer
        .tokens()
        .create(
            "aws-web",
            "web",
            "ec2",
            now.plus(Duration.ofHours(1)),
            Map.of("allow", List.of(Map.of("aws_account", "123456789012"))));
  }

  @AfterEach
  void stop() {
    issuer.close();
    store.close();
    imds.close();
  }

  @Test
  void aDelegatedJoinAmongTenThousandTokensReadsOnlyTheTokenItNames() {
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    KeyPair keys = ProtocolClient.ec();
    ObjectNode join = ProtocolClient.joinRequest(
            "aws-web", client.challenge("ec2", "aws-web", keys), keys, null)
        .put("join_method", "ec2");
    // a well-formed proof whose signature does not verify: the verifier reads the token first
    join.putObject("proof").put("document", "{}").put("signature", "AAAA");
    long before = store.tokensRead();

    ProtocolClient.Reply reply = client.post("/v1/join", join);

    assertThat(reply.status()).as(reply.toString()).isEqualTo(401);
    assertThat(issuer.audit().events())
        .filteredOn(AuditEvent::failed)
        .last()
        .satisfies(e ->
            assertThat(e.bot()).as("the refusal is in the token's bot's trail").isEqualTo("web"));
    // the verifier's look-up and the refusal's audit look-up: the named token, once each
    assertThat(store.tokensRead() - before).isLessThanOrEqualTo(2);
  }

  @Test
  void aSuccessfulDelegatedJoinAmongTenThousandTokensReadsOnlyTheTokenItNames() {
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    KeyPair keys = ProtocolClient.ec();
    ObjectNode join = ProtocolClient.joinRequest(
            "aws-web", client.challenge("ec2", "aws-web", keys), keys, null)
        .put("join_method", "ec2");
    // the instance identity document and its rsa2048 signature, as the ec2 join method reads them
    join.putObject("proof")
        .put("document", imds.document())
        .put("signature", imds.signature().replaceAll("\\s+", ""));
    long before = store.tokensRead();

    ProtocolClient.Reply reply = client.post("/v1/join", join);

    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    String instanceId = reply.json().get("instance_id").asText();
    BotInstance instance = issuer.instances().find(instanceId).orElseThrow();
    assertThat(instance.bot()).isEqualTo("web");
    assertThat(instance.joinMethod()).isEqualTo("ec2");
    // the verifier's look-up of the named token, and nothing else: not one of the other 10,000
    assertThat(store.tokensRead() - before).isEqualTo(1);
  }
}
