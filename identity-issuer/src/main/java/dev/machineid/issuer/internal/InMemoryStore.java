package dev.machineid.issuer.internal;

import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.join.TokenConsumption;
import dev.machineid.issuer.join.TokenConsumption.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@link IssuerStore} in memory. Every single-use and compare-and-set decision is one atomic
 * {@link ConcurrentHashMap} operation ({@code putIfAbsent}, {@code compute}, {@code replace}), the
 * in-memory counterpart of a conditional {@code UPDATE} or an {@code INSERT} on a unique key.
 */
public final class InMemoryStore implements IssuerStore {
  private final ConcurrentMap<String, Instant> usedChallenges = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Bot> bots = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Token> tokens = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, InstanceRecord> instances = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Lock> locks = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<AuditEvent> audit = new ConcurrentLinkedQueue<>();

  @Override
  public boolean insertUsedChallenge(String nonce, Instant expiresAt) {
    Objects.requireNonNull(expiresAt, "expiresAt");
    return usedChallenges.putIfAbsent(Objects.requireNonNull(nonce, "nonce"), expiresAt) == null;
  }

  @Override
  public boolean insertBot(Bot bot) {
    return bots.putIfAbsent(bot.name(), bot) == null;
  }

  @Override
  public Optional<Bot> findBot(String name) {
    return Optional.ofNullable(bots.get(name));
  }

  @Override
  public List<Bot> bots() {
    List<Bot> out = new ArrayList<>(bots.values());
    out.sort(Comparator.comparing(Bot::name));
    return List.copyOf(out);
  }

  @Override
  public boolean deleteBot(String name) {
    return bots.remove(name) != null;
  }

  @Override
  public boolean insertToken(Token token) {
    return tokens.putIfAbsent(token.id(), token) == null;
  }

  @Override
  public List<Token> tokens() {
    List<Token> out = new ArrayList<>(tokens.values());
    out.sort(Comparator.comparing(Token::createdAt).thenComparing(Token::id));
    return List.copyOf(out);
  }

  @Override
  public boolean deleteToken(String tokenId) {
    return tokens.remove(tokenId) != null;
  }

  @Override
  public TokenConsumption consumeToken(String tokenId, String joinMethod, Instant now) {
    Objects.requireNonNull(tokenId, "tokenId");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(now, "now");
    AtomicReference<TokenConsumption> result = new AtomicReference<>(new TokenConsumption(Outcome.MISSING, tokenId, null));
    // computeIfPresent runs atomically per key: the in-memory form of
    // UPDATE tokens SET consumed_at = ? WHERE id = ? AND join_method = ? AND consumed_at IS NULL AND expires_at > ?
    tokens.computeIfPresent(
        tokenId,
        (id, t) -> {
          Outcome outcome;
          Token next = t;
          if (!t.joinMethod().equals(joinMethod)) {
            outcome = Outcome.WRONG_METHOD;
          } else if (t.consumed()) {
            outcome = Outcome.ALREADY_CONSUMED;
          } else if (!now.isBefore(t.expiresAt())) {
            outcome = Outcome.EXPIRED;
          } else {
            outcome = Outcome.CONSUMED;
            next = new Token(t.id(), t.bot(), t.joinMethod(), t.createdAt(), t.expiresAt(), now);
          }
          result.set(new TokenConsumption(outcome, tokenId, t.bot()));
          return next;
        });
    return result.get();
  }

  @Override
  public boolean insertInstance(InstanceRecord instance) {
    return instances.putIfAbsent(instance.id(), instance) == null;
  }

  @Override
  public Optional<InstanceRecord> findInstance(String instanceId) {
    return Optional.ofNullable(instances.get(instanceId));
  }

  @Override
  public List<InstanceRecord> instances(String botName) {
    List<InstanceRecord> out = new ArrayList<>();
    for (InstanceRecord r : instances.values()) {
      if (r.bot().equals(botName)) {
        out.add(r);
      }
    }
    out.sort(Comparator.comparing(InstanceRecord::createdAt).thenComparing(InstanceRecord::id));
    return List.copyOf(out);
  }

  @Override
  public boolean compareAndSetGeneration(
      String instanceId, long expected, long newGeneration, String newKeyHash, String credentialsJson, String serial, Authentication latest) {
    while (true) {
      InstanceRecord current = instances.get(instanceId);
      if (current == null || current.generation() != expected) {
        return false;
      }
      InstanceRecord next = current.advanced(newGeneration, newKeyHash, credentialsJson, serial, latest);
      // replace(key, old, new) compares by equals; records compare by value, and a concurrent
      // heartbeat changes the value, in which case we re-read and re-check the generation.
      if (instances.replace(instanceId, current, next)) {
        return true;
      }
    }
  }

  @Override
  public boolean updateHeartbeat(String instanceId, Heartbeat heartbeat) {
    return instances.computeIfPresent(instanceId, (id, r) -> r.withHeartbeat(heartbeat)) != null;
  }

  @Override
  public boolean insertLock(Lock lock) {
    Objects.requireNonNull(lock.id(), "lock id");
    return locks.putIfAbsent(lock.id(), lock) == null;
  }

  @Override
  public List<Lock> findActiveLocks(Collection<LockKey> targets, Instant now) {
    Set<LockKey> wanted = new HashSet<>(targets);
    List<Lock> out = new ArrayList<>();
    for (Lock l : locks.values()) {
      if (l.activeAt(now) && wanted.contains(new LockKey(l.target(), l.value()))) {
        out.add(l);
      }
    }
    return out;
  }

  @Override
  public List<Lock> locks() {
    List<Lock> out = new ArrayList<>(locks.values());
    out.sort(Comparator.comparing(Lock::createdAt).thenComparing(Lock::id));
    return List.copyOf(out);
  }

  @Override
  public boolean deleteLock(String lockId) {
    return locks.remove(lockId) != null;
  }

  @Override
  public void appendAudit(AuditEvent event) {
    audit.add(Objects.requireNonNull(event, "event"));
  }

  @Override
  public List<AuditEvent> auditEvents() {
    return List.copyOf(audit);
  }

  @Override
  public int deleteExpired(Instant now, Duration tokenRetention) {
    AtomicInteger dropped = new AtomicInteger();
    usedChallenges.forEach(
        (nonce, expiry) -> {
          if (!expiry.isAfter(now) && usedChallenges.remove(nonce, expiry)) {
            dropped.incrementAndGet();
          }
        });
    Instant tokenCutoff = now.minus(tokenRetention);
    tokens.forEach(
        (id, t) -> {
          if (!t.expiresAt().isAfter(tokenCutoff) && tokens.remove(id, t)) {
            dropped.incrementAndGet();
          }
        });
    return dropped.get();
  }
}
