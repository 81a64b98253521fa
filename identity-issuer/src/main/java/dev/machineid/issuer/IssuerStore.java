package dev.machineid.issuer;

import dev.machineid.issuer.join.TokenConsumption;
import dev.machineid.issuer.store.JdbcStore;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where the issuer keeps its state, shaped like a database: every single-use or compare-and-set
 * decision is one call whose boolean (row count) result decides, never a JVM lock held by the
 * caller, so that several issuer replicas can share one store. Implementations are thread-safe.
 *
 * <p>The implementation is {@link JdbcStore}: H2 (in memory or a file) for one issuer, PostgreSQL
 * for several replicas. A change and the audit event that records it commit together through
 * {@link #inTransaction(Function)}.
 */
public interface IssuerStore extends AutoCloseable {

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

  // ---- challenges

  /**
   * Records a redeemed challenge nonce (unique key) until {@code expiresAt}.
   *
   * @return false if the nonce was already recorded: the challenge was used before
   */
  boolean insertUsedChallenge(String nonce, Instant expiresAt);

  // ---- bots

  /** @return false if a bot with that name exists */
  boolean insertBot(Bot bot);

  Optional<Bot> findBot(String name);

  List<Bot> bots();

  /**
   * Deletes a bot together with its instances and its tokens, in one transaction that is also a
   * revocation ({@link #awaitRevocations()}): the instances' certificates authorise nothing from
   * then on, unused tokens join nothing, and a bot created later with the same name shares nothing
   * with this one.
   *
   * @return false if there was no such bot (nothing changes)
   */
  boolean deleteBot(String name);

  // ---- tokens

  /** @return false if a token with that id exists */
  boolean insertToken(Token token);

  List<Token> tokens();

  /**
   * The token of that id (the hex SHA-256 of a secret, or of a delegated token's name), read by its
   * key: a join reads this one row, however many tokens are stored.
   */
  Optional<Token> findToken(String tokenId);

  /** @return false if there was no such token */
  boolean deleteToken(String tokenId);

  /**
   * Marks a token consumed if it exists, is for {@code joinMethod}, is unexpired at {@code now} and
   * unused, in one atomic step (a conditional update); otherwise says why not, changing nothing.
   */
  TokenConsumption consumeToken(String tokenId, String joinMethod, Instant now);

  // ---- bot instances

  /** @return false if an instance with that id exists */
  boolean insertInstance(InstanceRecord instance);

  Optional<InstanceRecord> findInstance(String instanceId);

  List<InstanceRecord> instances(String botName);

  /**
   * Advances an instance's generation if it still is {@code expected} (compare-and-set), storing
   * the new key hash, credentials, serial and latest authentication.
   *
   * @return false if the stored generation was not {@code expected} (or no such instance)
   */
  boolean compareAndSetGeneration(
      String instanceId, long expected, long newGeneration, String newKeyHash, String credentialsJson, String serial, Authentication latest);

  /** @return false if there is no such instance */
  boolean updateHeartbeat(String instanceId, Heartbeat heartbeat);

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
    return findInstance(instanceId).map(r -> new CallerRecord(r, findBot(r.bot()).orElse(null), findActiveLocks(CallerRecord.lockKeys(r, serial), now)));
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
  default void awaitRevocations() {
    throw unsupported("revocation ordering");
  }

  // ---- locks

  /**
   * Stores a lock; a revocation, ordered against issuing transactions ({@link #awaitRevocations()}).
   *
   * @return false if a lock with that id exists
   */
  boolean insertLock(Lock lock);

  /** Locks active at {@code now} whose (target, value) is one of {@code targets}. */
  List<Lock> findActiveLocks(Collection<LockKey> targets, Instant now);

  /** Every lock, active or expired, oldest first. */
  List<Lock> locks();

  /** @return false if there was no such lock */
  boolean deleteLock(String lockId);

  // ---- audit

  /**
   * Appends an event to the hash-chained audit log, in the caller's transaction when called inside
   * {@link #inTransaction(Function)}; the store keeps append order.
   */
  void appendAudit(AuditEvent event);

  /**
   * Every event on the chain (from the anchor to the head), in the order appended. Rows beyond the
   * chain head, which no append wrote, are left out. Reads the whole log: use
   * {@link #auditEvents(AuditQuery)} for listings.
   */
  List<AuditEvent> auditEvents();

  /**
   * The newest {@code query.limit()} events on the chain matching the query, oldest first,
   * filtered and limited in the store (reading no more than that many rows).
   */
  List<AuditEvent> auditEvents(AuditQuery query);

  /**
   * Checks the audit chain from its anchor to its head: every row present, linked and matching its
   * hash; no row beyond the head; the head not behind the newest head this store appended or
   * verified. A chain split into shards is checked shard by shard, with the checkpoints that tie
   * them together; the head reported is then the newest checkpoint.
   */
  AuditVerification verifyAudit();

  /**
   * As {@link #verifyAudit()}, and also that the chain still holds row {@code pinnedSequence} with
   * hash {@code pinnedHash} (a head printed by an earlier verification and kept elsewhere): a head
   * rewound below it, with the rows after it removed, is then reported.
   */
  AuditVerification verifyAudit(long pinnedSequence, String pinnedHash);

  /**
   * Audit retention: verifies the chain, then removes the rows before {@code before} from its
   * front, moving the anchor to the last removed row so that the rest still verifies. Needs
   * {@code DELETE} on {@code audit_events} and {@code UPDATE} on {@code audit_anchors}, which
   * replicas are not granted.
   *
   * @return how many rows were removed
   * @throws StoreException if the chain does not verify (nothing is removed then)
   */
  int pruneAudit(Instant before);

  // ---- roles (docs/architecture.md §9 role resources); defaults refuse, so that a store written before roles
  // existed still compiles and says what it lacks

  /** @return false if a role with that name exists */
  default boolean insertRole(Role role) {
    throw unsupported("roles");
  }

  default Optional<Role> findRole(String name) {
    throw unsupported("roles");
  }

  /** Every role, by name. */
  default List<Role> roles() {
    throw unsupported("roles");
  }

  /** @return false if there was no such role */
  default boolean deleteRole(String name) {
    throw unsupported("roles");
  }

  /**
   * Replaces the stored role of {@code role.name()} by {@code role}, keeping its creation time; the
   * next issuance reads the new one.
   *
   * @return false if there was no such role (nothing changes)
   */
  default boolean updateRole(Role role) {
    throw unsupported("role updates");
  }

  /**
   * Replaces the roles and traits of the bot {@code bot.name()} by those of {@code bot}, keeping its
   * creation time, instances and tokens; the next issuance reads the new ones.
   *
   * @return false if there was no such bot (nothing changes)
   */
  default boolean updateBot(Bot bot) {
    throw unsupported("bot updates");
  }

  // ---- admin identities

  /**
   * Records an admin allowed on the admin API. A name that was removed before is recorded again as a
   * new admin whose {@link AdminIdentity#notBefore()} is {@code admin.createdAt()}, so that the
   * certificates issued to the removed one stay refused.
   *
   * @return false if an admin with that name is recorded
   */
  default boolean insertAdmin(AdminIdentity admin) {
    throw unsupported("admin identities");
  }

  /** The recorded (not removed) admin of that name. */
  default Optional<AdminIdentity> findAdmin(String name) {
    throw unsupported("admin identities");
  }

  /** Every recorded (not removed) admin, by name. */
  default List<AdminIdentity> admins() {
    throw unsupported("admin identities");
  }

  /**
   * Removes an admin at {@code at}: a revocation ({@link #awaitRevocations()}); its certificates are
   * refused from then on, also after the name is added again.
   *
   * @return false if no admin of that name is recorded
   */
  default boolean removeAdmin(String name, Instant at) {
    throw unsupported("admin removal");
  }

  private UnsupportedOperationException unsupported(String what) {
    return new UnsupportedOperationException(getClass().getName() + " does not store " + what + "; use a store that implements them");
  }

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
   * A bot instance row.
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
    public InstanceRecord advanced(long newGeneration, String newKeyHash, String newCredentialsJson, String newSerial, Authentication latest) {
      return new InstanceRecord(
          id, bot, joinMethod, tokenId, attestedIdentity, createdAt, newGeneration, newKeyHash, newCredentialsJson, newSerial, initialAuthentication, latest, latestHeartbeat);
    }

    /** This row with a new heartbeat. */
    public InstanceRecord withHeartbeat(Heartbeat heartbeat) {
      return new InstanceRecord(
          id, bot, joinMethod, tokenId, attestedIdentity, createdAt, generation, publicKeyHash, credentialsJson, serial, initialAuthentication, latestAuthentication, heartbeat);
    }
  }
}
