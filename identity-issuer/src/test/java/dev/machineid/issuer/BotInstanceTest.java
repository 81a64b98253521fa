package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.issuer.IssuerStore.InstanceRecord;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link BotInstance} is the public view of the one stored model of an instance. */
class BotInstanceTest {
  private final Instant joined = Instant.parse("2030-01-01T00:00:00Z");
  private final Authentication join =
      new Authentication(joined, "192.0.2.1:4000", "ec2", 1, Map.of("aws_account", "123456789012"));
  private final Authentication renewal =
      new Authentication(joined.plusSeconds(600), "192.0.2.1:4001", "ec2", 3, Map.of());
  private final Heartbeat heartbeat = new Heartbeat(
      joined.plusSeconds(700), "web-1", "1.2.0", 700, false, Map.of("identity", "ok"));

  private InstanceRecord stored(String keyHash, String credentials, String serial) {
    return new InstanceRecord(
        "5f0c6b1e-0000-4000-8000-000000000001",
        "web",
        "ec2",
        "token-id-7f3a",
        "ec2:123456789012:i-0abc",
        joined,
        3,
        keyHash,
        credentials,
        serial,
        join,
        renewal,
        heartbeat);
  }

  @Test
  void theViewShowsWhatTheStoreKeepsAboutTheInstance() {
    InstanceRecord r = stored(
        "9c1185a5c5e9fc54612808977ee8f548b2258d31",
        "{\"certificate\":\"MIIB-credentials\"}",
        "0a1b2c3d");

    BotInstance view = BotInstance.of(r, true);

    assertThat(view.id()).isEqualTo(r.id());
    assertThat(view.bot()).isEqualTo("web");
    assertThat(view.joinMethod()).isEqualTo("ec2");
    assertThat(view.createdAt()).isEqualTo(joined);
    assertThat(view.initialAuthentication()).isEqualTo(join);
    assertThat(view.latestAuthentication()).isEqualTo(renewal);
    assertThat(view.generation()).isEqualTo(3);
    assertThat(view.latestHeartbeat()).isEqualTo(heartbeat);
    assertThat(view.heartbeat()).contains(heartbeat);
    assertThat(view.locked()).isTrue();
    assertThat(BotInstance.of(r.withHeartbeat(null), false).heartbeat()).isEmpty();
  }

  @Test
  void theViewsTextLeavesOutTheKeyHashCredentialsSerialTokenAndIdentity() {
    BotInstance view = BotInstance.of(
        stored(
            "9c1185a5c5e9fc54612808977ee8f548b2258d31",
            "{\"certificate\":\"MIIB-credentials\"}",
            "0a1b2c3d"),
        false);

    assertThat(view.toString())
        .startsWith("BotInstance[id=5f0c6b1e-0000-4000-8000-000000000001, bot=web, joinMethod=ec2")
        .contains("generation=3", "hostname=web-1", "locked=false")
        .doesNotContain("9c1185a5", "MIIB-credentials", "0a1b2c3d", "token-id-7f3a", "i-0abc");
  }

  @Test
  void viewsAreEqualWhenWhatTheyShowIsEqual() {
    BotInstance a = BotInstance.of(stored("hash-a", "{\"c\":1}", "01"), false);
    BotInstance sameView = BotInstance.of(stored("hash-b", "{\"c\":2}", "02"), false);

    assertThat(a).isEqualTo(sameView).hasSameHashCodeAs(sameView);
    assertThat(a).isNotEqualTo(BotInstance.of(stored("hash-a", "{\"c\":1}", "01"), true));
    assertThat(a)
        .isNotEqualTo(
            BotInstance.of(stored("hash-a", "{\"c\":1}", "01").withHeartbeat(null), false));
  }
}
