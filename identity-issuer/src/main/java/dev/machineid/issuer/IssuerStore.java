package dev.machineid.issuer;

import dev.machineid.issuer.store.AdminStore;
import dev.machineid.issuer.store.AuditStore;
import dev.machineid.issuer.store.BotStore;
import dev.machineid.issuer.store.ChallengeStore;
import dev.machineid.issuer.store.InstanceStore;
import dev.machineid.issuer.store.JdbcStore;
import dev.machineid.issuer.store.LockStore;
import dev.machineid.issuer.store.RoleStore;
import dev.machineid.issuer.store.TokenStore;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where the issuer keeps its state, one narrow store per aggregate ({@link TokenStore},
 * {@link BotStore}, {@link InstanceStore}, {@link LockStore}, {@link AuditStore}, {@link RoleStore},
 * {@link AdminStore}, {@link ChallengeStore}) over one transaction: a change spanning aggregates (a
 * renewal's compare-and-set and its audit event, a bot deleted with its instances and tokens)
 * commits as one through {@link #inTransaction(Function)}. Shaped like a database: every single-use or compare-and-set
 * decision is one call whose boolean (row count) result decides, never a JVM lock held by the
 * caller, so that several issuer replicas can share one store. Implementations are thread-safe.
 *
 * <p>The implementation is {@link JdbcStore}: H2 (in memory or a file) for one issuer, PostgreSQL
 * for several replicas. A change and the audit event that records it commit together through
 * {@link #inTransaction(Function)}.
 */
public interface IssuerStore
    extends ChallengeStore,
        BotStore,
        TokenStore,
        InstanceStore,
        LockStore,
        AuditStore,
        RoleStore,
        AdminStore,
        AutoCloseable {

  /**
   * The default store: a private H2 database in this JVM's memory, dropped when the store is
   * closed.
   */
  static IssuerStore inMemory() {
    return JdbcStore.inMemory();
  }

  /**
   * A store on a JDBC database ({@code jdbc:postgresql://…} or {@code jdbc:h2:…}), migrating its
   * schema to the current version first. For pool size or a schema migrated by another role, use
   * {@link JdbcStore#builder(String)}.
   */
  static IssuerStore jdbc(String jdbcUrl, String user, String password) {
    return JdbcStore.builder(jdbcUrl).credentials(user, password).build();
  }

  /**
   * Runs {@code work} against a view of this store in which every call belongs to one
   * transaction: it commits when {@code work} returns and rolls back when it throws. Used so that a
   * change and its audit event are stored together or not at all. Nested calls join the outer
   * transaction.
   */
  <T> T inTransaction(Function<IssuerStore, T> work);

  /** Releases connections; idempotent. Calls afterwards throw {@link IllegalStateException}. */
  @Override
  void close();

  /**
   * What authorising a call over mTLS reads, together: the instance, the bot it belongs to, and
   * the locks active at {@code now} on any of the caller's lock targets — the bot, the instance,
   * the presented certificate's {@code serial}, the token the instance joined with and its
   * attested identity (docs/architecture.md §7). Called on every renewal and heartbeat, so a store should answer
   * it in one round trip; this default reads the three one after another.
   *
   * @return empty if there is no such instance
   */
  default Optional<CallerRecord> findCaller(String instanceId, String serial, Instant now) {
    Objects.requireNonNull(serial, "serial");
    Objects.requireNonNull(now, "now");
    return findInstance(instanceId)
        .map(r -> new CallerRecord(
            r,
            findBot(r.bot()).orElse(null),
            findActiveLocks(CallerRecord.lockKeys(r, serial), now)));
  }

  // ---- revocation

  /**
   * Orders the calling transaction against revocations on every replica sharing this store: a new
   * lock ({@link #insertLock}), a deleted bot ({@link #deleteBot}) or a removed admin
   * ({@link #removeAdmin}). A revocation that committed before this call is visible to every read
   * that follows it in the transaction; one that starts later waits until the transaction ends.
   * A transaction that issues a credential calls this first, then re-reads what authorises the
   * issuance (the caller, its bot, the active locks) and commits only if it still holds; so nothing
   * is issued after a revocation commits. Revocations take the other side of this order by
   * themselves.
   *
   * <p>Outside {@link #inTransaction(Function)} the order ends with the call, so it is useless there.
   */
  void awaitRevocations();

  // ---- housekeeping

  /**
   * Drops used-challenge records that expired at or before {@code now}; tokens that expired more
   * than {@code retention} before (kept that long so that late users get {@code token_expired}
   * rather than {@code proof_rejected}); and bot instances whose latest authentication is older than
   * the longest certificate lifetime (24 h) plus {@code retention}, whose certificates have
   * therefore been expired for at least {@code retention}.
   *
   * @return how many records were dropped
   */
  int deleteExpired(Instant now, java.time.Duration retention);

  /**
   * A bot instance as an authenticated call sees it.
   *
   * @param instance the instance row
   * @param bot the bot it belongs to, or {@code null} if the bot was deleted
   * @param activeLocks the active locks on any of the caller's targets, oldest first
   */
  record CallerRecord(InstanceRecord instance, Bot bot, List<Lock> activeLocks) {
    public CallerRecord {
      Objects.requireNonNull(instance, "instance");
      activeLocks = List.copyOf(activeLocks);
    }

    /** The lock targets a call presenting {@code serial} for {@code instance} is checked against. */
    public static List<LockKey> lockKeys(InstanceRecord instance, String serial) {
      return List.of(
          new LockKey(Lock.Target.BOT, instance.bot()),
          new LockKey(Lock.Target.INSTANCE, instance.id()),
          new LockKey(Lock.Target.SERIAL, serial),
          new LockKey(Lock.Target.TOKEN, instance.tokenId()),
          new LockKey(Lock.Target.IDENTITY, instance.attestedIdentity()));
    }
  }

  /** A lock target as stored: kind and value. */
  record LockKey(Lock.Target target, String value) {
    public LockKey {
      Objects.requireNonNull(target, "target");
      Objects.requireNonNull(value, "value");
    }
  }

  /**
   * A bot instance as the store keeps it: the one model of an instance, with what authorises it
   * (its token, attested identity, key hash, current credentials and serial). The public view,
   * {@link BotInstance#of(InstanceRecord, boolean)}, is derived from it and shows none of those.
   *
   * @param id instance id
   * @param bot bot name
   * @param joinMethod join method of the first join
   * @param tokenId token resource used to join
   * @param attestedIdentity the identity the join method attested
   * @param createdAt join time
   * @param generation current generation
   * @param publicKeyHash hex SHA-256 of the DER SubjectPublicKeyInfo certified at {@code generation}
   * @param credentialsJson the credentials issued at {@code generation}, as sent
   * @param serial serial (lower-case hex) of the certificate issued at {@code generation}
   * @param initialAuthentication the join
   * @param latestAuthentication the latest join or renewal
   * @param latestHeartbeat latest heartbeat or {@code null}
   */
  record InstanceRecord(
      String id,
      String bot,
      String joinMethod,
      String tokenId,
      String attestedIdentity,
      Instant createdAt,
      long generation,
      String publicKeyHash,
      String credentialsJson,
      String serial,
      Authentication initialAuthentication,
      Authentication latestAuthentication,
      Heartbeat latestHeartbeat) {
    public InstanceRecord {
      Objects.requireNonNull(id, "id");
      Objects.requireNonNull(bot, "bot");
      Objects.requireNonNull(joinMethod, "joinMethod");
      Objects.requireNonNull(tokenId, "tokenId");
      Objects.requireNonNull(attestedIdentity, "attestedIdentity");
      Objects.requireNonNull(createdAt, "createdAt");
      Objects.requireNonNull(publicKeyHash, "publicKeyHash");
      Objects.requireNonNull(credentialsJson, "credentialsJson");
      Objects.requireNonNull(serial, "serial");
      Objects.requireNonNull(initialAuthentication, "initialAuthentication");
      Objects.requireNonNull(latestAuthentication, "latestAuthentication");
    }

    /** This row after a renewal. */
    public InstanceRecord advanced(
        long newGeneration,
        String newKeyHash,
        String newCredentialsJson,
        String newSerial,
        Authentication latest) {
      return new InstanceRecord(
          id,
          bot,
          joinMethod,
          tokenId,
          attestedIdentity,
          createdAt,
          newGeneration,
          newKeyHash,
          newCredentialsJson,
          newSerial,
          initialAuthentication,
          latest,
          latestHeartbeat);
    }

    /** This row with a new heartbeat. */
    public InstanceRecord withHeartbeat(Heartbeat heartbeat) {
      return new InstanceRecord(
          id,
          bot,
          joinMethod,
          tokenId,
          attestedIdentity,
          createdAt,
          generation,
          publicKeyHash,
          credentialsJson,
          serial,
          initialAuthentication,
          latestAuthentication,
          heartbeat);
    }
  }
}
