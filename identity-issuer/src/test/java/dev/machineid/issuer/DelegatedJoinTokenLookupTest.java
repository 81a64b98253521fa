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
import org.junit.jupiter.api.Test;

/**
 * A delegated join finds its token resource by key: the rows it reads do not grow with the number
 * of tokens stored (counted at the store, not timed).
 */
class DelegatedJoinTokenLookupTest {
  private static final int STORED = 10_000;
  private HookedStore store;
  private Issuer issuer;

  @BeforeEach
  void start() {
    store = new HookedStore(IssuerStore.inMemory());
    issuer = Issuer.builder().store(store).build().start();
    issuer.createBot("web");
    Instant now = Instant.now();
    store.inTransaction(tx -> {
      for (int i = 0; i < STORED; i++) {
        tx.insertToken(new Token(String.format("%064x", i), "web", "token", now, now.plus(Duration.ofHours(1)), null));
      }
      return null;
    });
    issuer.createToken("aws-web", "web", "ec2", now.plus(Duration.ofHours(1)), Map.of("allow", List.of(Map.of("aws_account", "123456789012"))));
  }

  @AfterEach
  void stop() {
    issuer.close();
    store.close();
  }

  @Test
  void aDelegatedJoinAmongTenThousandTokensReadsOnlyTheTokenItNames() {
    ProtocolClient client = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    KeyPair keys = ProtocolClient.ec();
    ObjectNode join = ProtocolClient.joinRequest("aws-web", client.challenge("ec2", "aws-web", keys), keys, null).put("join_method", "ec2");
    // a well-formed proof whose signature does not verify: the verifier reads the token first
    join.putObject("proof").put("document", "{}").put("signature", "AAAA");
    long before = store.tokensRead();

    ProtocolClient.Reply reply = client.post("/v1/join", join);

    assertThat(reply.status()).as(reply.toString()).isEqualTo(401);
    assertThat(issuer.auditEvents()).filteredOn(AuditEvent::failed).last()
        .satisfies(e -> assertThat(e.bot()).as("the refusal is in the token's bot's trail").isEqualTo("web"));
    // the verifier's look-up and the refusal's audit look-up: the named token, once each
    assertThat(store.tokensRead() - before).isLessThanOrEqualTo(2);
  }
}
