package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
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
 * A join whose proof is bound on first use ({@code ec2}) finds the instances bound to its attested
 * identity by that identity: the instance rows it reads do not grow with the number of bots and
 * instances stored (counted at the store, not timed), and the binding still refuses a second
 * instance while the first lives.
 */
class FirstUseJoinInstanceLookupTest {
  private static final int BOTS = 50;
  private static final int INSTANCES_PER_BOT = 40;
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
      for (int b = 0; b < BOTS; b++) {
        String bot = "other-" + b;
        tx.insertBot(new Bot(bot, List.of(), Map.of(), now));
        for (int i = 0; i < INSTANCES_PER_BOT; i++) {
          String id = bot + "-" + i;
          Authentication auth = new Authentication(now, "127.0.0.1:1", "token", 1, Map.of());
          tx.insertInstance(new InstanceRecord(
              id,
              bot,
              "token",
              "t-" + id,
              "token:" + id,
              now,
              1,
              "h",
              "{}",
              "s-" + id,
              auth,
              auth,
              null));
        }
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

  private ProtocolClient.Reply ec2Join() {
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    KeyPair keys = ProtocolClient.ec();
    ObjectNode join = ProtocolClient.joinRequest(
            "aws-web", client.challenge("ec2", "aws-web", keys), keys, null)
        .put("join_method", "ec2");
    join.putObject("proof")
        .put("document", imds.document())
        .put("signature", imds.signature().replaceAll("\\s+", ""));
    return client.post("/v1/join", join);
  }

  @Test
  void aFirstUseJoinAmongTwoThousandInstancesReadsOnlyThoseBoundToItsIdentity() {
    long before = store.instancesRead();

    ProtocolClient.Reply first = ec2Join();

    assertThat(first.status()).as(first.toString()).isEqualTo(200);
    // no instance is bound to this identity yet: not one of the other 2,000 is read
    assertThat(store.instancesRead() - before).isZero();
    String instanceId = first.json().get("instance_id").asText();
    assertThat(issuer.instances().find(instanceId)).map(BotInstance::bot).contains("web");

    long beforeSecond = store.instancesRead();
    ProtocolClient.Reply second = ec2Join();

    assertThat(second.status()).as(second.toString()).isEqualTo(401);
    assertThat(second.code()).isEqualTo("proof_rejected");
    assertThat(issuer.audit().events())
        .filteredOn(AuditEvent::failed)
        .last()
        .satisfies(e -> assertThat(e.detail().values())
            .anySatisfy(v -> assertThat(v).startsWith("rule=first_use").contains(instanceId)));
    // the one instance bound to the identity, and nothing else
    assertThat(store.instancesRead() - beforeSecond).isEqualTo(1);
  }
}
