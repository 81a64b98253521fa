package dev.machineid.issuer;

import dev.machineid.issuer.join.TokenConsumption;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * A store that runs a test's action once, at the start of the next transaction, inside it: the
 * point between a call's authorisation (its reads outside any transaction) and the transaction that
 * issues. The action runs on the issuing thread before the transaction has read or written anything,
 * and may commit changes through another store (another replica) or through the issuer.
 */
final class HookedStore implements IssuerStore {
  private final IssuerStore delegate;
  private final AtomicReference<Runnable> atNextTransaction;
  private final AtomicLong tokensRead;
  private final AtomicLong instancesRead;

  HookedStore(IssuerStore delegate) {
    this(delegate, new AtomicReference<>(), new AtomicLong(), new AtomicLong());
  }

  private HookedStore(
      IssuerStore delegate,
      AtomicReference<Runnable> hook,
      AtomicLong tokensRead,
      AtomicLong instancesRead) {
    this.delegate = delegate;
    this.atNextTransaction = hook;
    this.tokensRead = tokensRead;
    this.instancesRead = instancesRead;
  }

  /** Runs {@code action} once, at the start of the next transaction. */
  void atNextTransaction(Runnable action) {
    atNextTransaction.set(action);
  }

  /** True once the armed action ran. */
  boolean fired() {
    return atNextTransaction.get() == null;
  }

  @Override
  public <T> T inTransaction(Function<IssuerStore, T> work) {
    return delegate.inTransaction(tx -> {
      Runnable action = atNextTransaction.getAndSet(null);
      if (action != null) {
        action.run();
      }
      return work.apply(new HookedStore(tx, atNextTransaction, tokensRead, instancesRead));
    });
  }

  @Override
  public void close() {
    delegate.close();
  }

  @Override
  public boolean insertUsedChallenge(String nonce, Instant expiresAt) {
    return delegate.insertUsedChallenge(nonce, expiresAt);
  }

  @Override
  public boolean insertBot(Bot bot) {
    return delegate.insertBot(bot);
  }

  @Override
  public Optional<Bot> findBot(String name) {
    return delegate.findBot(name);
  }

  @Override
  public List<Bot> bots() {
    return delegate.bots();
  }

  @Override
  public boolean deleteBot(String name) {
    return delegate.deleteBot(name);
  }

  @Override
  public boolean insertToken(Token token) {
    return delegate.insertToken(token);
  }

  @Override
  public List<Token> tokens() {
    List<Token> all = delegate.tokens();
    tokensRead.addAndGet(all.size());
    return all;
  }

  @Override
  public Optional<Token> findToken(String tokenId) {
    Optional<Token> found = delegate.findToken(tokenId);
    tokensRead.addAndGet(found.isPresent() ? 1 : 0);
    return found;
  }

  /** How many token rows the store handed out through this store and its transaction views. */
  long tokensRead() {
    return tokensRead.get();
  }

  @Override
  public boolean deleteToken(String tokenId) {
    return delegate.deleteToken(tokenId);
  }

  @Override
  public TokenConsumption consumeToken(String tokenId, String joinMethod, Instant now) {
    return delegate.consumeToken(tokenId, joinMethod, now);
  }

  @Override
  public boolean insertInstance(InstanceRecord instance) {
    return delegate.insertInstance(instance);
  }

  @Override
  public Optional<InstanceRecord> findInstance(String instanceId) {
    Optional<InstanceRecord> found = delegate.findInstance(instanceId);
    instancesRead.addAndGet(found.isPresent() ? 1 : 0);
    return found;
  }

  @Override
  public List<InstanceRecord> instances(String botName) {
    List<InstanceRecord> all = delegate.instances(botName);
    instancesRead.addAndGet(all.size());
    return all;
  }

  @Override
  public List<InstanceRecord> instancesWithIdentity(String attestedIdentity) {
    List<InstanceRecord> found = delegate.instancesWithIdentity(attestedIdentity);
    instancesRead.addAndGet(found.size());
    return found;
  }

  /** How many bot instance rows the store handed out through this store and its transaction views. */
  long instancesRead() {
    return instancesRead.get();
  }

  @Override
  public boolean compareAndSetGeneration(
      String instanceId,
      long expected,
      long newGeneration,
      String newKeyHash,
      String credentialsJson,
      String serial,
      Authentication latest) {
    return delegate.compareAndSetGeneration(
        instanceId, expected, newGeneration, newKeyHash, credentialsJson, serial, latest);
  }

  @Override
  public boolean updateHeartbeat(String instanceId, Heartbeat heartbeat) {
    return delegate.updateHeartbeat(instanceId, heartbeat);
  }

  @Override
  public Optional<CallerRecord> findCaller(String instanceId, String serial, Instant now) {
    return delegate.findCaller(instanceId, serial, now);
  }

  @Override
  public void awaitRevocations() {
    delegate.awaitRevocations();
  }

  @Override
  public boolean insertLock(Lock lock) {
    return delegate.insertLock(lock);
  }

  @Override
  public List<Lock> findActiveLocks(Collection<LockKey> targets, Instant now) {
    return delegate.findActiveLocks(targets, now);
  }

  @Override
  public List<Lock> locks() {
    return delegate.locks();
  }

  @Override
  public boolean deleteLock(String lockId) {
    return delegate.deleteLock(lockId);
  }

  @Override
  public void appendAudit(AuditEvent event) {
    delegate.appendAudit(event);
  }

  @Override
  public List<AuditEvent> auditEvents() {
    return delegate.auditEvents();
  }

  @Override
  public AuditVerification verifyAudit() {
    return delegate.verifyAudit();
  }

  @Override
  public List<AuditEvent> auditEvents(AuditQuery query) {
    return delegate.auditEvents(query);
  }

  @Override
  public AuditVerification verifyAudit(long pinnedSequence, String pinnedHash) {
    return delegate.verifyAudit(pinnedSequence, pinnedHash);
  }

  @Override
  public int pruneAudit(Instant before) {
    return delegate.pruneAudit(before);
  }

  @Override
  public boolean insertRole(Role role) {
    return delegate.insertRole(role);
  }

  @Override
  public Optional<Role> findRole(String name) {
    return delegate.findRole(name);
  }

  @Override
  public List<Role> roles() {
    return delegate.roles();
  }

  @Override
  public boolean deleteRole(String name) {
    return delegate.deleteRole(name);
  }

  @Override
  public boolean updateRole(Role role) {
    return delegate.updateRole(role);
  }

  @Override
  public boolean updateBot(Bot bot) {
    return delegate.updateBot(bot);
  }

  @Override
  public boolean insertAdmin(AdminIdentity admin) {
    return delegate.insertAdmin(admin);
  }

  @Override
  public Optional<AdminIdentity> findAdmin(String name) {
    return delegate.findAdmin(name);
  }

  @Override
  public List<AdminIdentity> admins() {
    return delegate.admins();
  }

  @Override
  public boolean removeAdmin(String name, Instant at) {
    return delegate.removeAdmin(name, at);
  }

  @Override
  public int deleteExpired(Instant now, Duration retention) {
    return delegate.deleteExpired(now, retention);
  }
}
