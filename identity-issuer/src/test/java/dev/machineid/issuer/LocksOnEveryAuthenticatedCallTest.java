package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.testkit.ProtocolClient;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;

/**
 * docs/architecture.md §11, invariant 8, second half, as written: a lock is checked on every authenticated call. Every
 * endpoint a bot certificate authenticates is called under a lock on each target a lock can name
 * (the bot, the instance, the token it joined with, the identity the token attests, the
 * certificate's serial); each call is refused with {@code bot_locked} and changes nothing.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LocksOnEveryAuthenticatedCallTest {
  private final AtomicInteger bots = new AtomicInteger();
  private Issuer issuer;

  @BeforeAll
  void start() {
    issuer = Issuer.builder().build().start();
    issuer
        .roles()
        .create(new Role(
            "svc",
            List.of("deploy"),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
  }

  @AfterAll
  void stop() {
    issuer.close();
  }

  /** A freshly joined bot of its own, so that no lock of one case reaches another. */
  private record Joined(
      String bot,
      String tokenId,
      KeyPair keys,
      IdentityResponse credentials,
      X509Certificate certificate) {
    ProtocolClient client(Issuer issuer) {
      return ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), keys, credentials);
    }
  }

  private Joined joinNewBot() {
    String name = "locked-" + bots.incrementAndGet();
    issuer.bots().create(name, List.of("svc"), Map.of());
    String token = issuer.tokens().create(name, Duration.ofMinutes(10));
    String tokenId = issuer.tokens().list().stream()
        .filter(t -> t.bot().equals(name))
        .findFirst()
        .orElseThrow()
        .id();
    KeyPair keys = ProtocolClient.ec();
    ProtocolClient.Reply reply = ProtocolClient.anonymous(
            issuer.url(), issuer.authorityCertificate())
        .join(token, keys, null);
    assertThat(reply.status()).as(reply.toString()).isEqualTo(200);
    IdentityResponse c = reply.as(IdentityResponse.class);
    return new Joined(
        name, tokenId, keys, c, Pem.certificate(c.certificateChain().get(0)));
  }

  private record Target(String name, Function<Joined, Lock> lock) {}

  private static final List<Target> TARGETS = List.of(
      new Target("bot", j -> Lock.bot(j.bot(), "bot retired")),
      new Target("instance", j -> Lock.instance(j.credentials().instanceId(), "host compromised")),
      new Target("token", j -> Lock.token(j.tokenId(), "token leaked")),
      new Target(
          "identity", j -> Lock.identity("token:" + j.tokenId(), "issued to the wrong team")),
      new Target(
          "serial",
          j -> Lock.serial(j.certificate().getSerialNumber().toString(16), "certificate leaked")));

  private record Endpoint(String path, Function<Joined, ObjectNode> body) {}

  private static final List<Endpoint> ENDPOINTS = List.of(
      new Endpoint("/v1/renew", j -> ProtocolClient.object()
          .put("generation", j.credentials().generation())
          .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()))),
      new Endpoint("/v1/certificates", j -> {
        ObjectNode req = ProtocolClient.object()
            .put("kind", "database")
            .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()))
            .put("ttl", "10m");
        req.putArray("roles").add("svc");
        req.putObject("target").put("database_user", "app");
        return req;
      }),
      new Endpoint("/v1/certificates", j -> ProtocolClient.object()
          .put("kind", "identity")
          .put("public_key", Pem.encode(ProtocolClient.ec().getPublic()))),
      new Endpoint("/v1/heartbeat", j -> ProtocolClient.object()
          .put("hostname", "host-" + System.nanoTime())
          .put("version", "1")
          .put("uptime_seconds", 1)
          .put("one_shot", false)));

  /** What a refused call must leave as it was; refusal audit events may be added. */
  private record State(List<BotInstance> instances, List<AuditEvent> successes) {}

  private State state(String bot) {
    return new State(
        issuer.instances().list(bot),
        issuer.audit().events().stream().filter(e -> !e.failed()).toList());
  }

  @TestFactory
  Stream<DynamicTest> everyAuthenticatedEndpointIsRefusedUnderALockOnEachTarget() {
    List<DynamicTest> tests = new ArrayList<>();
    for (Endpoint endpoint : ENDPOINTS) {
      for (Target target : TARGETS) {
        String kind = endpoint.path().equals("/v1/certificates")
            ? " (" + endpoint.body().apply(null).get("kind").asText() + ")"
            : "";
        tests.add(DynamicTest.dynamicTest(
            endpoint.path() + kind + " under a " + target.name() + " lock", () -> {
              Joined joined = joinNewBot();
              ProtocolClient client = joined.client(issuer);
              // the same call succeeds unlocked, so the refusal below is the lock's doing
              if (!endpoint.path().equals("/v1/renew")) {
                ProtocolClient.Reply unlocked =
                    client.post(endpoint.path(), endpoint.body().apply(joined));
                assertThat(unlocked.status()).as(unlocked.toString()).isBetween(200, 299);
              }
              Lock lock = issuer.locks().create(target.lock().apply(joined));
              assertThat(issuer.locks().list()).extracting(Lock::id).contains(lock.id());
              State before = state(joined.bot());

              ProtocolClient.Reply reply =
                  client.post(endpoint.path(), endpoint.body().apply(joined));

              assertThat(reply.status()).as(reply.toString()).isEqualTo(403);
              assertThat(reply.code()).isEqualTo("bot_locked");
              assertThat(state(joined.bot())).isEqualTo(before);

              // and once the lock is gone the bot is served again
              assertThat(issuer.locks().remove(lock.id())).isTrue();
              ProtocolClient.Reply after =
                  client.post(endpoint.path(), endpoint.body().apply(joined));
              assertThat(after.status()).as(after.toString()).isBetween(200, 299);
            }));
      }
    }
    return tests.stream();
  }
}
