package dev.machineid.issuer.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditQuery;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.join.TokenConsumption.Outcome;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * What every {@link IssuerStore} must do, run against each database the issuer supports. Each test
 * gets a fresh, empty database from {@link #newDatabase()}; concurrency tests use two store objects
 * (two pools, as two replicas would) on that database. Organised per aggregate (one nested class
 * each); the stores are opened with one audit shard except in {@link PartitionedAuditChain}.
 */
abstract class IssuerStoreContract {
  /**
   * A fresh, empty database (its JDBC URL, user and password), and the one way the suite opens
   * stores on it and reads or damages its rows behind the stores' backs.
   */
  record Database(String url, String user, String password) {
    /** A store on this database, migrating it first, with {@code auditShards} audit shards. */
    IssuerStore open(int auditShards) {
      return JdbcStore.builder(url)
          .credentials(user, password)
          .auditShards(auditShards)
          .build();
    }

    /** Runs one statement on a connection of its own, outside any store. */
    void execute(String statement) throws SQLException {
      try (Connection c = connect();
          Statement s = c.createStatement()) {
        s.executeUpdate(statement);
      }
    }

    /** The number in the first column of the first row {@code query} selects. */
    long number(String query) throws SQLException {
      try (Connection c = connect();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(query)) {
        rs.next();
        return rs.getLong(1);
      }
    }

    /** The text in the first column of the first row {@code query} selects. */
    String text(String query) throws SQLException {
      try (Connection c = connect();
          Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(query)) {
        rs.next();
        return rs.getString(1);
      }
    }

    private Connection connect() throws SQLException {
      return DriverManager.getConnection(url, user, password);
    }
  }

  abstract Database newDatabase();

  private final Instant now = Instant.parse("2030-01-01T00:00:00Z");
  private Database db;
  private IssuerStore store;
  private IssuerStore replica;

  @BeforeEach
  void openStores() {
    db = newDatabase();
    // the audit tests here are those of the single chain; PartitionedAuditChain runs them on shards
    store = db.open(1);
    replica = db.open(1);
  }

  @AfterEach
  void closeStores() {
    store.close();
    replica.close();
  }

  /** A task run by {@link #race}, told its index (0 to n-1) so that it can pick a replica without shared state. */
  private interface Indexed<T> {
    T call(int index) throws Exception;
  }

  private static <T> List<T> race(int n, Indexed<T> task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<T>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int index = i;
        fs.add(pool.submit(() -> {
          go.await();
          return task.call(index);
        }));
      }
      go.countDown();
      List<T> out = new ArrayList<>();
      for (Future<T> f : fs) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  /** Alternates between the two store objects, as calls spread over two replicas would. */
  private IssuerStore either(int i) {
    return i % 2 == 0 ? store : replica;
  }

  private InstanceRecord instance(String id, Instant at) {
    Authentication auth = new Authentication(at, "127.0.0.1:1", "token", 1, Map.of("k", "v"));
    return new InstanceRecord(
        id, "web", "token", "t", "token:t", at, 1, "h1", "{\"c\":1}", "s1", auth, auth, null);
  }

  private AuditEvent event(String type) {
    return new AuditEvent(
        UUID.randomUUID().toString(),
        now,
        type,
        "web",
        null,
        AuditEvent.SUCCESS,
        Map.of("a", "1", "b", "two"));
  }

  private AuditEvent event(String type, String bot, Instant at) {
    return new AuditEvent(
        UUID.randomUUID().toString(), at, type, bot, null, AuditEvent.SUCCESS, Map.of("a", "1"));
  }

  private String hashOf(long seq) throws SQLException {
    return db.text("SELECT hash FROM audit_events WHERE seq = " + seq);
  }

  // ---------------------------------------------------------------- challenges and tokens

  /** Redeemed challenges and join tokens. */
  @Nested
  class ChallengesAndTokens {
    @Test
    void aChallengeIsRedeemedOnceAmongConcurrentReplicasAndForgottenAfterExpiry() throws Exception {
      List<Boolean> inserted =
          race(32, i -> either(i).insertUsedChallenge("nonce", now.plusSeconds(120)));
      assertThat(inserted.stream().filter(b -> b)).hasSize(1);
      assertThat(store.deleteExpired(now, Duration.ofDays(1))).isZero();
      assertThat(replica.deleteExpired(now.plusSeconds(120), Duration.ofDays(1)))
          .isEqualTo(1);
      assertThat(store.insertUsedChallenge("nonce", now.plusSeconds(240))).isTrue();
    }

    @Test
    void aTokenIsConsumedExactlyOnceAmongConcurrentReplicas() throws Exception {
      store.insertToken(new Token("id", "web", "token", now, now.plusSeconds(60), null));
      List<Outcome> outcomes =
          race(64, i -> either(i).consumeToken("id", "token", now).outcome());
      assertThat(outcomes.stream().filter(o -> o == Outcome.CONSUMED)).hasSize(1);
      assertThat(outcomes.stream().filter(o -> o == Outcome.ALREADY_CONSUMED)).hasSize(63);
      assertThat(replica.tokens().get(0).consumedAt()).isEqualTo(now);
    }

    @Test
    void tokenConsumptionSaysWhyItFailedWithoutChangingTheToken() {
      store.insertToken(new Token("id", "web", "token", now, now.plusSeconds(60), null));
      assertThat(store.consumeToken("nope", "token", now).outcome()).isEqualTo(Outcome.MISSING);
      assertThat(store.consumeToken("id", "github", now).outcome()).isEqualTo(Outcome.WRONG_METHOD);
      assertThat(store.consumeToken("id", "token", now.plusSeconds(60)).outcome())
          .isEqualTo(Outcome.EXPIRED);
      assertThat(store.tokens().get(0).consumed()).isFalse();
      assertThat(store.consumeToken("id", "token", now).botName()).isEqualTo("web");
    }

    @Test
    void aTokenIsFoundByItsIdOnEveryReplica() {
      Token named = new Token(
          "id",
          "web",
          "ec2",
          now,
          now.plusSeconds(60),
          null,
          "aws-web",
          Map.of("allow", List.of(Map.of("aws_account", "123456789012"))));
      store.insertToken(named);
      store.insertToken(new Token("other", "web", "token", now, now.plusSeconds(60), null));
      assertThat(replica.findToken("id")).contains(named);
      assertThat(replica.findToken("nope")).isEmpty();
      store.deleteToken("id");
      assertThat(replica.findToken("id")).isEmpty();
    }

    @Test
    void expiredTokensAreKeptForTheRetentionPeriodThenDropped() {
      store.insertToken(new Token("id", "web", "token", now, now.plusSeconds(60), null));
      assertThat(
              store.insertToken(new Token("id", "other", "token", now, now.plusSeconds(60), null)))
          .isFalse();
      store.deleteExpired(now.plusSeconds(61), Duration.ofHours(1));
      assertThat(store.tokens()).hasSize(1);
      store.deleteExpired(now.plusSeconds(60).plus(Duration.ofHours(1)), Duration.ofHours(1));
      assertThat(store.tokens()).isEmpty();
    }
  }

  // ---------------------------------------------------------------- bots and instances

  /** Bots, roles and bot instances. */
  @Nested
  class BotsAndInstances {
    @Test
    void botsAndRolesAreUpdatedInPlaceKeepingTheirCreationAndInstances() {
      Bot bot = new Bot("web", List.of("deployer"), Map.of("logins", List.of("deploy")), now);
      assertThat(store.insertBot(bot)).isTrue();
      assertThat(store.insertInstance(instance("i", now))).isTrue();
      Bot changed = new Bot(
          "web",
          List.of("deployer", "auditor"),
          Map.of("logins", List.of("ops")),
          now.plusSeconds(60));
      assertThat(store.updateBot(changed)).isTrue();
      assertThat(replica.findBot("web"))
          .contains(new Bot(
              "web", List.of("deployer", "auditor"), Map.of("logins", List.of("ops")), now));
      assertThat(replica.findInstance("i")).isPresent();
      assertThat(replica.updateBot(new Bot("ghost", List.of(), Map.of(), now))).isFalse();
      assertThat(store.findBot("ghost")).isEmpty();

      Role role = new Role(
          "deployer",
          List.of("deploy"),
          List.of(),
          List.of(),
          List.of(),
          List.of(),
          List.of(),
          false,
          null,
          now);
      assertThat(store.insertRole(role)).isTrue();
      Role wider = new Role(
          "deployer",
          List.of("deploy", "root"),
          List.of("app"),
          List.of(),
          List.of(),
          List.of(),
          List.of(),
          false,
          Duration.ofMinutes(10),
          null);
      assertThat(replica.updateRole(wider)).isTrue();
      assertThat(store.findRole("deployer")).contains(wider.createdAt(role.createdAt()));
      assertThat(store.updateRole(new Role(
              "ghost", List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), false,
              null, null)))
          .isFalse();
      assertThat(store.roles()).extracting(Role::name).containsExactly("deployer");
    }

    @Test
    void botsAndInstancesReadBackAsWritten() {
      Bot bot =
          new Bot("web", List.of("deployer"), Map.of("logins", List.of("deploy", "ops")), now);
      assertThat(store.insertBot(bot)).isTrue();
      assertThat(replica.insertBot(bot)).isFalse();
      assertThat(replica.findBot("web")).contains(bot);
      InstanceRecord row = instance("i", now);
      assertThat(store.insertInstance(row)).isTrue();
      assertThat(replica.findInstance("i")).contains(row);
      Heartbeat hb =
          new Heartbeat(now.plusSeconds(5), "host", "1.0", 42, false, Map.of("identity", "ok"));
      assertThat(replica.updateHeartbeat("i", hb)).isTrue();
      assertThat(store.instances("web")).containsExactly(row.withHeartbeat(hb));
      assertThat(store.deleteBot("web")).isTrue();
      assertThat(replica.deleteBot("web")).isFalse();
    }

    @Test
    void instancesAreReadByTheirAttestedIdentityAcrossBotsOldestFirst() {
      Authentication auth = new Authentication(now, "127.0.0.1:1", "ec2", 1, Map.of());
      InstanceRecord later = new InstanceRecord(
          "b",
          "api",
          "ec2",
          "t2",
          "ec2:123456789012:i-1",
          now.plusSeconds(2),
          1,
          "h2",
          "{}",
          "s2",
          auth,
          auth,
          null);
      InstanceRecord earlier = new InstanceRecord(
          "c",
          "web",
          "ec2",
          "t2",
          "ec2:123456789012:i-1",
          now.plusSeconds(1),
          1,
          "h3",
          "{}",
          "s3",
          auth,
          auth,
          null);
      assertThat(store.insertInstance(instance("a", now))).isTrue();
      assertThat(store.insertInstance(later)).isTrue();
      assertThat(store.insertInstance(earlier)).isTrue();
      assertThat(replica.instancesWithIdentity("ec2:123456789012:i-1"))
          .containsExactly(earlier, later);
      assertThat(replica.instancesWithIdentity("token:t"))
          .extracting(InstanceRecord::id)
          .containsExactly("a");
      assertThat(store.instancesWithIdentity("ec2:123456789012:i-2")).isEmpty();
    }

    @Test
    void generationCompareAndSetAdvancesOnceAmongConcurrentReplicas() throws Exception {
      store.insertInstance(instance("i", now));
      Authentication auth =
          new Authentication(now.plusSeconds(1), "127.0.0.1:2", "token", 2, Map.of());
      List<Boolean> results =
          race(32, i -> either(i).compareAndSetGeneration("i", 1, 2, "h2", "{}", "s2", auth));
      assertThat(results.stream().filter(b -> b)).hasSize(1);
      InstanceRecord after = replica.findInstance("i").orElseThrow();
      assertThat(after.generation()).isEqualTo(2);
      assertThat(after.latestAuthentication()).isEqualTo(auth);
      assertThat(store.compareAndSetGeneration("i", 1, 2, "h3", "{}", "s3", auth))
          .isFalse();
    }

    @Test
    void instancesWhoseCertificatesExpiredLongAgoAreCleanedUp() {
      store.insertInstance(instance("old", now.minus(Duration.ofDays(3))));
      store.insertInstance(instance("fresh", now.minus(Duration.ofHours(1))));
      store.deleteExpired(now, Duration.ofDays(1));
      assertThat(store.instances("web")).extracting(InstanceRecord::id).containsExactly("fresh");
    }
  }

  // ---------------------------------------------------------------- locks

  /** Locks, the caller read, bot deletion, admins and revocation ordering. */
  @Nested
  class LocksAdminsAndRevocations {
    @Test
    void locksApplyToTheirTargetsOnEveryReplicaUntilTheyExpireOrAreRemoved() {
      Lock forever = new Lock("l1", Lock.Target.BOT, "web", "compromised", now, null);
      Lock brief = new Lock("l2", Lock.Target.SERIAL, "ab12", "leaked", now, now.plusSeconds(60));
      assertThat(store.insertLock(forever)).isTrue();
      assertThat(store.insertLock(brief)).isTrue();
      assertThat(replica.insertLock(brief)).isFalse();
      List<LockKey> keys = List.of(
          new LockKey(Lock.Target.BOT, "web"),
          new LockKey(Lock.Target.SERIAL, "ab12"),
          new LockKey(Lock.Target.INSTANCE, "web"));
      assertThat(replica.findActiveLocks(keys, now)).containsExactly(forever, brief);
      assertThat(replica.findActiveLocks(keys, now.plusSeconds(60))).containsExactly(forever);
      assertThat(replica.findActiveLocks(List.of(new LockKey(Lock.Target.BOT, "other")), now))
          .isEmpty();
      assertThat(replica.deleteLock("l1")).isTrue();
      assertThat(store.findActiveLocks(keys, now)).containsExactly(brief);
      assertThat(store.locks()).containsExactly(brief);
    }

    @Test
    void aCallerIsReadWithItsBotAndTheActiveLocksOnEachOfItsTargets() throws Exception {
      assertThat(store.findCaller("i", "s1", now)).isEmpty();
      Bot bot = new Bot("web", List.of("deployer"), Map.of("logins", List.of("deploy")), now);
      store.insertBot(bot);
      InstanceRecord row = instance("i", now);
      store.insertInstance(row);
      assertThat(replica.findCaller("i", "s1", now)).hasValueSatisfying(c -> {
        assertThat(c.instance()).isEqualTo(row);
        assertThat(c.bot()).isEqualTo(bot);
        assertThat(c.activeLocks()).isEmpty();
      });
      // one lock on each of the caller's targets (bot web, instance i, serial s1, token t, identity
      // token:t), oldest first
      List<Lock> mine = List.of(
          new Lock("l5", Lock.Target.IDENTITY, "token:t", "r", now.minusSeconds(50), null),
          new Lock("l4", Lock.Target.TOKEN, "t", "r", now.minusSeconds(40), now.plusSeconds(600)),
          new Lock("l3", Lock.Target.SERIAL, "s1", "r", now.minusSeconds(30), now.plusSeconds(60)),
          new Lock("l2", Lock.Target.INSTANCE, "i", "r", now.minusSeconds(20), null),
          new Lock("l1", Lock.Target.BOT, "web", "r", now.minusSeconds(10), null));
      // and locks that must not apply: other values, a value of this caller under another target,
      // an expired one
      List<Lock> others = List.of(
          new Lock("o1", Lock.Target.BOT, "other", "r", now, null),
          new Lock("o2", Lock.Target.SERIAL, "s2", "r", now, null),
          new Lock("o3", Lock.Target.BOT, "i", "r", now, null),
          new Lock("o4", Lock.Target.INSTANCE, "web", "r", now, null),
          new Lock(
              "o5", Lock.Target.INSTANCE, "i", "r", now.minusSeconds(90), now.minusSeconds(1)));
      mine.forEach(store::insertLock);
      others.forEach(store::insertLock);
      assertThat(replica.findCaller("i", "s1", now).orElseThrow().activeLocks())
          .containsExactlyElementsOf(mine);
      // another serial of the same instance; then the serial lock's expiry
      assertThat(replica.findCaller("i", "s2", now).orElseThrow().activeLocks())
          .containsExactly(mine.get(0), mine.get(1), mine.get(3), mine.get(4), others.get(1));
      assertThat(
              replica.findCaller("i", "s1", now.plusSeconds(60)).orElseThrow().activeLocks())
          .containsExactly(mine.get(0), mine.get(1), mine.get(3), mine.get(4));
      // what the default implementation reads, one call after another, is the same
      assertThat(store.findCaller("i", "s1", now).orElseThrow().activeLocks())
          .containsExactlyElementsOf(
              store.findActiveLocks(IssuerStore.CallerRecord.lockKeys(row, "s1"), now));
      // an instance whose bot row is missing (written before deleting a bot ended its instances)
      // reads with no bot
      db.execute("DELETE FROM bots WHERE name = 'web'");
      assertThat(replica.findCaller("i", "s1", now)).hasValueSatisfying(c -> {
        assertThat(c.bot()).isNull();
        assertThat(c.instance()).isEqualTo(row);
      });
    }

    @Test
    void deletingABotEndsItsInstancesAndTokensAndNothingComesBackWithTheName() {
      Bot bot = new Bot("web", List.of(), Map.of(), now);
      store.insertBot(bot);
      store.insertBot(new Bot("api", List.of(), Map.of(), now));
      store.insertInstance(instance("i", now));
      store.insertToken(new Token("t1", "web", "token", now, now.plusSeconds(60), null));
      store.insertToken(new Token("t2", "api", "token", now, now.plusSeconds(60), null));

      assertThat(replica.deleteBot("web")).isTrue();

      assertThat(store.findInstance("i")).isEmpty();
      assertThat(store.tokens()).extracting(Token::id).containsExactly("t2");
      assertThat(store.insertBot(bot)).isTrue();
      assertThat(store.instances("web")).isEmpty();
      assertThat(store.consumeToken("t1", "token", now).outcome()).isEqualTo(Outcome.MISSING);
      assertThat(replica.deleteBot("nobody")).isFalse();
    }

    @Test
    void aRemovedAdminIsGoneOnEveryReplicaAndComesBackOnlyAsANewRecord() {
      assertThat(store.insertAdmin(new AdminIdentity("ops", now))).isTrue();
      assertThat(replica.insertAdmin(new AdminIdentity("ops", now))).isFalse();
      assertThat(replica.findAdmin("ops")).contains(new AdminIdentity("ops", now));

      assertThat(replica.removeAdmin("ops", now.plusSeconds(10))).isTrue();
      assertThat(store.removeAdmin("ops", now.plusSeconds(11))).isFalse();
      assertThat(store.findAdmin("ops")).isEmpty();
      assertThat(store.admins()).isEmpty();

      // recorded again: a new record, whose certificates must not predate it
      assertThat(store.insertAdmin(new AdminIdentity("ops", now.plusSeconds(20))))
          .isTrue();
      assertThat(replica.findAdmin("ops"))
          .contains(new AdminIdentity("ops", now.plusSeconds(20), now.plusSeconds(20)));
      assertThat(replica.admins()).extracting(AdminIdentity::name).containsExactly("ops");
    }

    @Test
    void aRevocationWaitsForAnIssuingTransactionInFlight() throws Exception {
      store.insertInstance(instance("i", now));
      ExecutorService other = Executors.newSingleThreadExecutor();
      try {
        java.util.concurrent.atomic.AtomicReference<Future<Boolean>> lock =
            new java.util.concurrent.atomic.AtomicReference<>();
        boolean committedBeforeTheLock = store.inTransaction(tx -> {
          tx.awaitRevocations();
          lock.set(other.submit(
              () -> replica.insertLock(new Lock("l1", Lock.Target.INSTANCE, "i", "r", now, null))));
          // while this transaction is open the lock cannot commit: a bounded wait that fails only
          // if it does
          try {
            lock.get().get(500, java.util.concurrent.TimeUnit.MILLISECONDS);
            return false;
          } catch (java.util.concurrent.TimeoutException expected) {
            return tx.findActiveLocks(List.of(new LockKey(Lock.Target.INSTANCE, "i")), now)
                .isEmpty();
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        assertThat(committedBeforeTheLock).isTrue();
        assertThat(lock.get().get()).isTrue();
        assertThat(store.findActiveLocks(List.of(new LockKey(Lock.Target.INSTANCE, "i")), now))
            .hasSize(1);
        // outside a transaction there is nothing to order
        assertThatThrownBy(() -> store.awaitRevocations())
            .isInstanceOf(IllegalStateException.class);
      } finally {
        other.shutdownNow();
      }
    }
  }

  // ---------------------------------------------------------------- audit

  /** The audit log on a single chain (one shard). */
  @Nested
  class AuditChain {
    @Test
    void auditAppendsFromConcurrentReplicasFormOneVerifiableChain() throws Exception {
      race(16, i -> {
        IssuerStore s = either(i);
        for (int n = 0; n < 10; n++) {
          s.inTransaction(tx -> {
            tx.appendAudit(event("renew"));
            return null;
          });
        }
        return null;
      });
      assertThat(store.auditEvents()).hasSize(160);
      assertThat(replica.verifyAudit())
          .extracting(
              AuditVerification::intact,
              AuditVerification::rowsChecked,
              AuditVerification::headSequence)
          .containsExactly(true, 160L, 160L);
    }

    @Test
    void aChangeAndItsAuditEventCommitOrRollBackTogether() {
      Bot bot = new Bot("web", List.of(), Map.of(), now);
      assertThatThrownBy(() -> store.inTransaction(tx -> {
            tx.insertBot(bot);
            tx.appendAudit(event("bot.created"));
            throw new IllegalStateException("boom");
          }))
          .hasMessage("boom");
      assertThat(store.findBot("web")).isEmpty();
      assertThat(store.auditEvents()).isEmpty();
      store.inTransaction(tx -> {
        tx.insertBot(bot);
        tx.appendAudit(event("bot.created"));
        return null;
      });
      assertThat(replica.findBot("web")).isPresent();
      assertThat(replica.auditEvents()).extracting(AuditEvent::type).containsExactly("bot.created");
      assertThat(replica.verifyAudit().intact()).isTrue();
    }

    @Test
    void anEditedAuditRowIsNamedByVerification() throws Exception {
      List<AuditEvent> events = new ArrayList<>();
      for (int n = 0; n < 5; n++) {
        AuditEvent e = event("join");
        events.add(e);
        store.appendAudit(e);
      }
      assertThat(store.verifyAudit().intact()).isTrue();
      db.execute("UPDATE audit_events SET detail = '{\"a\":\"1\",\"b\":\"three\"}' WHERE seq = 3");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenSequence()).isEqualTo(3);
      assertThat(v.brokenId()).isEqualTo(events.get(2).id());
      assertThat(v.rowsChecked()).isEqualTo(2);
      assertThat(v.toString()).contains("row 3", events.get(2).id(), "edited");
    }

    @Test
    void aDeletedAuditRowIsDetected() throws Exception {
      for (int n = 0; n < 4; n++) {
        store.appendAudit(event("join"));
      }
      db.execute("DELETE FROM audit_events WHERE seq = 2");
      assertThat(store.verifyAudit())
          .extracting(AuditVerification::intact, AuditVerification::brokenSequence)
          .containsExactly(false, 2L);
    }

    @Test
    void aDeletedLastAuditRowIsDetectedThroughTheChainHead() throws Exception {
      for (int n = 0; n < 3; n++) {
        store.appendAudit(event("join"));
      }
      db.execute("DELETE FROM audit_events WHERE seq = 3");
      AuditVerification v = store.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem()).contains("deleted");
    }

    @Test
    void anEmptyAuditLogVerifies() {
      assertThat(store.verifyAudit()).isEqualTo(AuditVerification.ok(0, 0, 0, "0".repeat(64)));
    }

    @Test
    void auditListingsAreFilteredAndLimitedInTheDatabase() {
      store.appendAudit(event("bot.created", "a", now));
      store.appendAudit(event("join", "a", now.plusSeconds(10)));
      store.appendAudit(event("bot.deleted", "b", now.plusSeconds(20)));
      store.appendAudit(event("bots", "b", now.plusSeconds(30))); // not a "bot." type
      store.appendAudit(event("join", "b", now.plusSeconds(40)));
      assertThat(replica.auditEvents(AuditQuery.latest(2)))
          .extracting(AuditEvent::type)
          .containsExactly("bots", "join");
      assertThat(replica.auditEvents(new AuditQuery(null, "bot", null, 10)))
          .extracting(AuditEvent::type)
          .containsExactly("bot.created", "bot.deleted");
      assertThat(replica.auditEvents(new AuditQuery(null, "join", "b", 10)))
          .extracting(AuditEvent::bot)
          .containsExactly("b");
      assertThat(replica.auditEvents(new AuditQuery(now.plusSeconds(20), null, null, 10)))
          .extracting(AuditEvent::type)
          .containsExactly("bot.deleted", "bots", "join");
      assertThat(replica.auditEvents(new AuditQuery(null, "b%t", null, 10))).isEmpty();
    }

    @Test
    void auditRetentionKeepsTheChainVerifiable() throws Exception {
      for (int n = 0; n < 3; n++) {
        store.appendAudit(event("join", "old", now));
      }
      for (int n = 0; n < 2; n++) {
        store.appendAudit(event("join", "new", now.plus(Duration.ofDays(2))));
      }
      assertThat(replica.pruneAudit(now.plus(Duration.ofDays(1)))).isEqualTo(3);
      // what is left: the two new events and the prune's own record
      assertThat(store.auditEvents())
          .filteredOn(e -> e.type().equals("join"))
          .extracting(AuditEvent::bot)
          .containsExactly("new", "new");
      assertThat(store.auditEvents())
          .extracting(AuditEvent::type)
          .containsOnly("join", "audit.pruned")
          .hasSize(3);
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).as(v.toString()).isTrue();
      assertThat(v.anchorSequence()).isEqualTo(3);
      assertThat(v.rowsChecked()).isEqualTo(3);
      // the chain goes on from the anchor
      store.appendAudit(event("join", "newer", now.plus(Duration.ofDays(3))));
      assertThat(replica.verifyAudit().intact()).isTrue();
      assertThat(replica.pruneAudit(now)).isZero();
      // a row removed from the front without moving the anchor is still detected
      db.execute("DELETE FROM audit_events WHERE seq = 4");
      AuditVerification broken = replica.verifyAudit();
      assertThat(broken.intact()).isFalse();
      assertThat(broken.brokenSequence()).isEqualTo(4);
      // and retention refuses to prune a chain that does not verify, removing nothing
      assertThatThrownBy(() -> replica.pruneAudit(now.plus(Duration.ofDays(10))))
          .isInstanceOfSatisfying(
              dev.machineid.issuer.AuditRetentionRefusedException.class,
              e -> assertThat(e.brokenSequence()).isEqualTo(4))
          .hasMessageContaining("refused", "row 4");
      assertThat(store.auditEvents()).hasSize(3);
    }

    @Test
    void aPruneIsListedInTheAuditLogWithTheAnchorItSet() throws Exception {
      for (int n = 0; n < 3; n++) {
        store.appendAudit(event("join", "old", now));
      }
      store.appendAudit(event("join", "new", now.plus(Duration.ofDays(2))));
      Instant before = now.plus(Duration.ofDays(1));
      assertThat(replica.pruneAudit(before)).isEqualTo(3);
      List<AuditEvent> pruned = replica.auditEvents(new AuditQuery(null, "audit.pruned", null, 10));
      assertThat(pruned).hasSize(1);
      assertThat(pruned.get(0).detail())
          .containsExactlyInAnyOrderEntriesOf(Map.of(
              "anchor.0",
              "3:" + db.text("SELECT hash FROM audit_anchors WHERE shard = 0"),
              "before",
              before.toString()));
      // a prune that removes nothing records nothing
      assertThat(replica.pruneAudit(now)).isZero();
      assertThat(replica.auditEvents(new AuditQuery(null, "audit.pruned", null, 10)))
          .hasSize(1);
      assertThat(replica.verifyAudit().intact()).isTrue();
    }

    @Test
    void aForgedAnchorHidingADeletedPrefixIsDetected() throws Exception {
      for (int n = 0; n < 8; n++) {
        store.appendAudit(event("join"));
      }
      AuditVerification pinned = replica.verifyAudit();
      assertThat(pinned.intact()).isTrue();
      // the anchor moved by hand to row 6, and the rows up to it deleted
      db.execute("UPDATE audit_anchors SET seq = 6, hash = '" + hashOf(6) + "' WHERE shard = 0");
      db.execute("DELETE FROM audit_events WHERE shard = 0 AND seq <= 6");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem())
          .contains("the anchor of shard 0 (row 6) was not set by a recorded prune");
      AuditVerification byPin = replica.verifyAudit(pinned.headSequence(), pinned.headHash());
      assertThat(byPin.intact()).isFalse();
      assertThat(byPin.problem()).contains("was not set by a recorded prune");
      try (IssuerStore fresh = db.open(1)) {
        assertThat(fresh.verifyAudit().intact()).isFalse();
      }
    }

    @Test
    void aForgedAnchorPastALegitimatePruneIsDetectedAndRetentionRefusesToRecordIt()
        throws Exception {
      for (int n = 0; n < 2; n++) {
        store.appendAudit(event("join", "old", now));
      }
      for (int n = 0; n < 6; n++) {
        store.appendAudit(event("join", "new", now.plus(Duration.ofDays(2))));
      }
      assertThat(replica.pruneAudit(now.plus(Duration.ofDays(1)))).isEqualTo(2);
      assertThat(replica.verifyAudit().intact()).isTrue();
      db.execute("UPDATE audit_anchors SET seq = 5, hash = '" + hashOf(5) + "' WHERE shard = 0");
      db.execute("DELETE FROM audit_events WHERE shard = 0 AND seq <= 5");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem())
          .contains("the anchor of shard 0 (row 5) was not set by a recorded prune");
      // the next prune does not launder it
      assertThatThrownBy(() -> replica.pruneAudit(now.plus(Duration.ofDays(10))))
          .isInstanceOfSatisfying(
              dev.machineid.issuer.AuditRetentionRefusedException.class,
              e -> assertThat(e.brokenSequence()).isEqualTo(5))
          .hasMessageContaining("refused", "was not set by a recorded prune", "(row 5)");
      assertThat(replica.verifyAudit().intact()).isFalse();
    }

    @Test
    void aStorePrunedBeforePrunesWereRecordedIsReportedUntilAPruneRecordsItsAnchors()
        throws Exception {
      for (int n = 0; n < 4; n++) {
        store.appendAudit(event("join"));
      }
      // what a prune left before prunes were recorded: the anchor moved, no audit.pruned event
      db.execute("UPDATE audit_anchors SET seq = 2, hash = '" + hashOf(2)
          + "', pruned_at = CURRENT_TIMESTAMP WHERE shard = 0");
      db.execute("DELETE FROM audit_events WHERE shard = 0 AND seq <= 2");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem())
          .contains(
              "was not set by a recorded prune", "run `issuer audit prune` once to record it");
      // the first prune records the anchors it finds, even when it removes nothing
      assertThat(replica.pruneAudit(now.minus(Duration.ofDays(1)))).isZero();
      assertThat(replica.auditEvents(new AuditQuery(null, "audit.pruned", null, 10)))
          .singleElement()
          .satisfies(e -> assertThat(e.detail())
              .containsEntry(
                  "anchor.0", "2:" + db.text("SELECT hash FROM audit_anchors WHERE shard = 0")));
      AuditVerification after = replica.verifyAudit();
      assertThat(after.intact()).as(after.toString()).isTrue();
    }

    @Test
    void aRowInsertedBeyondTheHeadIsReportedByVerify() throws Exception {
      for (int n = 0; n < 3; n++) {
        store.appendAudit(event("join"));
      }
      db.execute(
          "INSERT INTO audit_events (seq, id, event_time, type, bot, instance_id, outcome, detail, prev_hash, hash) "
              + "SELECT 4, 'forged', event_time, 'bot.deleted', bot, instance_id, outcome, detail, hash, hash FROM audit_events WHERE seq = 3");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenSequence()).isEqualTo(4);
      assertThat(v.brokenId()).isEqualTo("forged");
      assertThat(v.problem()).contains("beyond the chain head");
      assertThat(replica.auditEvents())
          .extracting(AuditEvent::id)
          .doesNotContain("forged")
          .hasSize(3);
      assertThat(replica.auditEvents(AuditQuery.latest(10)))
          .extracting(AuditEvent::id)
          .doesNotContain("forged")
          .hasSize(3);
    }

    @Test
    void aRewoundHeadIsDetected() throws Exception {
      for (int n = 0; n < 5; n++) {
        store.appendAudit(event("join"));
      }
      db.execute("UPDATE audit_heads SET seq = 3, hash = '" + hashOf(3) + "' WHERE shard = 0");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenSequence()).isEqualTo(4);
      assertThat(v.problem()).contains("beyond the chain head", "rewound");
    }

    @Test
    void aTruncatedChainIsDetected() throws Exception {
      for (int n = 0; n < 5; n++) {
        store.appendAudit(event("join"));
      }
      AuditVerification pinned = replica.verifyAudit();
      assertThat(pinned.intact()).isTrue();
      // the last rows removed and the head rewound to match: consistent in the database alone
      String h3 = hashOf(3);
      db.execute("DELETE FROM audit_events WHERE seq > 3");
      db.execute("UPDATE audit_heads SET seq = 3, hash = '" + h3 + "' WHERE shard = 0");
      // the store that wrote the rows remembers its head
      AuditVerification byWriter = store.verifyAudit();
      assertThat(byWriter.intact()).isFalse();
      assertThat(byWriter.problem()).contains("rewound");
      // any store, given the head an earlier verification printed
      AuditVerification byPin = replica.verifyAudit(pinned.headSequence(), pinned.headHash());
      assertThat(byPin.intact()).isFalse();
      assertThat(byPin.problem()).contains("behind the pinned row 5");
      // a store that saw neither (a fresh process) accepts a pin still on the chain, and refuses
      // the old head
      try (IssuerStore fresh = db.open(1)) {
        assertThat(fresh.verifyAudit(3, h3).intact()).isTrue();
        assertThat(fresh.verifyAudit(pinned.headSequence(), pinned.headHash()).intact())
            .isFalse();
      }
    }
  }

  // ---------------------------------------------------------------- audit on a partitioned chain

  /**
   * The audit chain split into shards, each its own hash chain, tied together by checkpoints: every
   * edit, deletion, reordering, truncation and rewind the single chain detects is detected here too,
   * in any shard and among the checkpoints.
   */
  @Nested
  class PartitionedAuditChain {
    private static final int SHARDS = 4;

    @BeforeEach
    void partitioned() {
      store.close();
      replica.close();
      store = db.open(SHARDS);
      replica = db.open(SHARDS);
    }

    /** Appends events in transactions of their own until every data shard holds at least {@code rows} rows. */
    private List<AuditEvent> fill(int rows) throws SQLException {
      List<AuditEvent> out = new ArrayList<>();
      while (db.number(
              "SELECT COUNT(*) FROM (SELECT shard FROM audit_events WHERE shard >= 0 GROUP BY shard HAVING COUNT(*) >= "
                  + rows + ") x")
          < SHARDS) {
        AuditEvent e = event("join");
        store.appendAudit(e);
        out.add(e);
      }
      return out;
    }

    @Test
    void appendsFromConcurrentReplicasSpreadOverTheShardsAndVerify() throws Exception {
      race(16, i -> {
        IssuerStore s = either(i);
        for (int n = 0; n < 10; n++) {
          s.inTransaction(tx -> {
            tx.appendAudit(event("renew"));
            return null;
          });
        }
        return null;
      });
      assertThat(store.auditEvents()).hasSize(160);
      assertThat(db.number("SELECT COUNT(DISTINCT shard) FROM audit_events WHERE shard >= 0"))
          .isGreaterThan(1);
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).as(v.toString()).isTrue();
      assertThat(v.rowsChecked())
          .isGreaterThanOrEqualTo(
              161); // the events and at least the checkpoint this verification wrote
      // the head is the newest checkpoint, which records every shard's head
      assertThat(db.text(
              "SELECT type FROM audit_events WHERE shard = -1 AND seq = " + v.headSequence()))
          .isEqualTo("audit.checkpoint");
      assertThat(v.headHash()).isEqualTo(db.text("SELECT hash FROM audit_heads WHERE shard = -1"));
    }

    @Test
    void theEventsOfAllShardsAreListedInTimeOrder() {
      List<String> ids = new ArrayList<>();
      for (int n = 0; n < 20; n++) {
        AuditEvent e = new AuditEvent(
            UUID.randomUUID().toString(),
            now.plusSeconds(n),
            "join",
            n % 2 == 0 ? "a" : "b",
            null,
            AuditEvent.SUCCESS,
            Map.of());
        ids.add(e.id());
        (n % 2 == 0 ? store : replica).appendAudit(e);
      }
      replica.verifyAudit(); // writes a checkpoint, which no listing shows
      assertThat(store.auditEvents()).extracting(AuditEvent::id).containsExactlyElementsOf(ids);
      assertThat(replica.auditEvents(AuditQuery.latest(3)))
          .extracting(AuditEvent::id)
          .containsExactlyElementsOf(ids.subList(17, 20));
      assertThat(replica.auditEvents(new AuditQuery(null, "join", "a", 2)))
          .extracting(AuditEvent::id)
          .containsExactly(ids.get(16), ids.get(18));
    }

    @Test
    void anEditInOneShardIsNamedByVerification() throws Exception {
      fill(3);
      String id = db.text("SELECT id FROM audit_events WHERE shard = 2 AND seq = 2");
      db.execute(
          "UPDATE audit_events SET detail = '{\"a\":\"1\",\"b\":\"three\"}' WHERE shard = 2 AND seq = 2");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenSequence()).isEqualTo(2);
      assertThat(v.brokenId()).isEqualTo(id);
      assertThat(v.problem()).contains("shard 2", "edited");
    }

    @Test
    void aDeletedRowInOneShardIsDetected() throws Exception {
      fill(3);
      db.execute("DELETE FROM audit_events WHERE shard = 1 AND seq = 2");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenSequence()).isEqualTo(2);
      assertThat(v.problem()).contains("shard 1", "deleted");
    }

    @Test
    void reorderedRowsInOneShardAreDetected() throws Exception {
      fill(3);
      // swap the content of rows 1 and 2 of shard 3, keeping each position's links and hashes
      db.execute("UPDATE audit_events SET seq = 99 WHERE shard = 3 AND seq = 1");
      db.execute("UPDATE audit_events SET seq = 1 WHERE shard = 3 AND seq = 2");
      db.execute("UPDATE audit_events SET seq = 2 WHERE shard = 3 AND seq = 99");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem()).contains("shard 3");
    }

    @Test
    void aRowMovedToAnotherShardIsDetected() throws Exception {
      fill(2);
      long next = db.number("SELECT seq FROM audit_heads WHERE shard = 1") + 1;
      db.execute(
          "INSERT INTO audit_events (shard, seq, id, event_time, type, bot, instance_id, outcome, detail, prev_hash, hash) "
              + "SELECT 1, " + next
              + ", 'moved', event_time, type, bot, instance_id, outcome, detail, (SELECT hash FROM audit_heads WHERE shard = 1), hash "
              + "FROM audit_events WHERE shard = 0 AND seq = 1");
      db.execute("UPDATE audit_heads SET seq = " + next
          + ", hash = (SELECT hash FROM audit_events WHERE shard = 0 AND seq = 1) WHERE shard = 1");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem()).contains("shard 1", "edited");
    }

    @Test
    void aShardTruncatedAndRewoundBelowACheckpointIsDetectedByAnyVerifier() throws Exception {
      fill(3);
      assertThat(store.verifyAudit().intact()).isTrue(); // writes a checkpoint recording every head
      long head = db.number("SELECT seq FROM audit_heads WHERE shard = 2");
      // the last row of shard 2 removed and its head rewound to match: consistent within the shard
      db.execute("DELETE FROM audit_events WHERE shard = 2 AND seq = " + head);
      db.execute("UPDATE audit_heads SET seq = " + (head - 1)
          + ", hash = (SELECT hash FROM audit_events WHERE shard = 2 AND seq = " + (head - 1)
          + ") WHERE shard = 2");
      try (IssuerStore fresh = db.open(SHARDS)) {
        AuditVerification v = fresh.verifyAudit();
        assertThat(v.intact()).isFalse();
        assertThat(v.problem()).contains("shard 2", "rewound");
      }
    }

    @Test
    void aDeletedCheckpointIsDetected() throws Exception {
      fill(2);
      assertThat(store.verifyAudit().intact()).isTrue();
      store.appendAudit(event("join"));
      assertThat(store.verifyAudit().intact()).isTrue();
      assertThat(db.number("SELECT seq FROM audit_heads WHERE shard = -1"))
          .isGreaterThanOrEqualTo(2);
      db.execute("DELETE FROM audit_events WHERE shard = -1 AND seq = 1");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenSequence()).isEqualTo(1);
      assertThat(v.problem()).contains("checkpoint chain", "deleted");
    }

    @Test
    void anEditedCheckpointIsDetected() throws Exception {
      fill(2);
      assertThat(store.verifyAudit().intact()).isTrue();
      String detail = db.text("SELECT detail FROM audit_events WHERE shard = -1 AND seq = 1");
      db.execute("UPDATE audit_events SET detail = '" + detail.replace("\"shard.", "\"shard.1")
          + "' WHERE shard = -1 AND seq = 1");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.problem()).contains("checkpoint chain", "edited");
    }

    @Test
    void aTruncatedCheckpointChainIsDetectedByThePinAndTheWriter() throws Exception {
      fill(2);
      AuditVerification pinned = store.verifyAudit();
      assertThat(pinned.intact()).isTrue();
      // the shards and the checkpoints rewound together to before the pinned checkpoint
      db.execute("DELETE FROM audit_events");
      db.execute("UPDATE audit_heads SET seq = 0, hash = '" + "0".repeat(64) + "'");
      AuditVerification byWriter = store.verifyAudit();
      assertThat(byWriter.intact()).isFalse();
      assertThat(byWriter.problem()).contains("rewound");
      try (IssuerStore fresh = db.open(SHARDS)) {
        AuditVerification byPin = fresh.verifyAudit(pinned.headSequence(), pinned.headHash());
        assertThat(byPin.intact()).as(byPin.toString()).isFalse();
      }
    }

    @Test
    void aRowInsertedBeyondAShardHeadIsReported() throws Exception {
      fill(2);
      long head = db.number("SELECT seq FROM audit_heads WHERE shard = 1");
      db.execute(
          "INSERT INTO audit_events (shard, seq, id, event_time, type, bot, instance_id, outcome, detail, prev_hash, hash) "
              + "SELECT 1, " + (head + 1)
              + ", 'forged', event_time, 'bot.deleted', bot, instance_id, outcome, detail, hash, hash FROM audit_events WHERE shard = 1 AND seq = "
              + head);
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).isFalse();
      assertThat(v.brokenId()).isEqualTo("forged");
      assertThat(v.problem()).contains("shard 1", "beyond the chain head");
      assertThat(replica.auditEvents()).extracting(AuditEvent::id).doesNotContain("forged");
    }

    @Test
    void retentionPrunesEveryShardAndTheRestStillVerifies() throws Exception {
      for (int n = 0; n < 20; n++) {
        store.appendAudit(event("join", "old", now));
      }
      assertThat(store.verifyAudit().intact()).isTrue();
      for (int n = 0; n < 5; n++) {
        store.appendAudit(event("join", "new", now.plus(Duration.ofDays(2))));
      }
      int removed = replica.pruneAudit(now.plus(Duration.ofDays(1)));
      assertThat(removed).isGreaterThanOrEqualTo(20);
      assertThat(store.auditEvents())
          .filteredOn(e -> e.type().equals("join"))
          .extracting(AuditEvent::bot)
          .containsOnly("new")
          .hasSize(5);
      // the prune's own record lists every shard's anchor
      List<AuditEvent> pruned = store.auditEvents(new AuditQuery(null, "audit.pruned", null, 10));
      assertThat(pruned).hasSize(1);
      assertThat(pruned.get(0).detail().keySet())
          .filteredOn(k -> k.startsWith("anchor."))
          .hasSize((int) db.number("SELECT COUNT(*) FROM audit_anchors WHERE seq > 0"));
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).as(v.toString()).isTrue();
    }

    @Test
    void aForgedAnchorHidingADeletedPrefixOfAShardIsDetected() throws Exception {
      fill(8);
      AuditVerification pinned = store.verifyAudit();
      assertThat(pinned.intact()).isTrue();
      // the attack: shard 1's anchor moved to its row 6, and the rows up to it deleted
      db.execute("DELETE FROM audit_anchors WHERE shard = 1");
      db.execute(
          "INSERT INTO audit_anchors (shard, seq, hash) SELECT 1, seq, hash FROM audit_events WHERE shard = 1 AND seq = 6");
      db.execute("DELETE FROM audit_events WHERE shard = 1 AND seq <= 6");
      AuditVerification v = replica.verifyAudit();
      assertThat(v.intact()).as(v.toString()).isFalse();
      assertThat(v.problem())
          .contains("the anchor of shard 1 (row 6) was not set by a recorded prune");
      try (IssuerStore fresh = db.open(SHARDS)) {
        AuditVerification byPin = fresh.verifyAudit(pinned.headSequence(), pinned.headHash());
        assertThat(byPin.intact()).as(byPin.toString()).isFalse();
        assertThat(byPin.problem()).contains("was not set by a recorded prune");
      }
    }
  }
}
