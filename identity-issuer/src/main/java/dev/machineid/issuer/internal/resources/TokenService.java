package dev.machineid.issuer.internal.resources;

import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.Tokens;
import dev.machineid.issuer.internal.Hashes;
import dev.machineid.issuer.internal.audit.Auditor;
import dev.machineid.issuer.internal.join.TokenRules;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** {@link Tokens} on the store, each change with its audit event in one transaction. */
public final class TokenService implements Tokens {
  private final IssuerStore store;
  private final Auditor audit;
  private final Clock clock;
  private final SecureRandom random;
  private final Set<String> joinMethods;
  private final Runnable open;

  /**
   * @param joinMethods the join methods the issuer verifies (besides those {@link TokenRules} knows)
   * @param open throws {@link IllegalStateException} once the issuer is closed
   */
  public TokenService(
      IssuerStore store,
      Auditor audit,
      Clock clock,
      SecureRandom random,
      Set<String> joinMethods,
      Runnable open) {
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.random = random;
    this.joinMethods = Set.copyOf(joinMethods);
    this.open = open;
  }

  @Override
  public String create(String botName, Duration ttl) {
    open.run();
    Objects.requireNonNull(botName, "botName");
    Objects.requireNonNull(ttl, "ttl");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("token TTL must be positive, got " + ttl);
    }
    if (store.findBot(botName).isEmpty()) {
      throw new IllegalArgumentException(
          "no bot named '" + botName + "'; create it with bots().create first");
    }
    byte[] secret = new byte[16];
    random.nextBytes(secret);
    String token = HexFormat.of().formatHex(secret);
    Instant now = clock.instant();
    Token t = new Token(Hashes.tokenId(token), botName, "token", now, now.plus(ttl), null);
    boolean inserted = store.inTransaction(tx -> {
      if (!tx.insertToken(t)) {
        return false;
      }
      audit.success(
          tx,
          "token.created",
          botName,
          null,
          Map.of(
              "token_id",
              t.shortId(),
              "join_method",
              "token",
              "expires",
              t.expiresAt().toString()));
      return true;
    });
    if (!inserted) {
      throw new IllegalStateException("token id collision; try again");
    }
    return token;
  }

  @Override
  public Created create(
      String name,
      String botName,
      String joinMethod,
      Instant expiresAt,
      Map<String, Object> rules) {
    open.run();
    Objects.requireNonNull(botName, "botName");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(expiresAt, "expiresAt");
    Instant now = clock.instant();
    if (!expiresAt.isAfter(now)) {
      throw new IllegalArgumentException("token expiry " + expiresAt + " is not in the future");
    }
    if (store.findBot(botName).isEmpty()) {
      throw new IllegalArgumentException("no bot named '" + botName + "'; create it first");
    }
    if (!TokenRules.known(joinMethod) && !joinMethods.contains(joinMethod)) {
      throw new IllegalArgumentException(
          "unknown join method '" + joinMethod + "'; this issuer knows " + joinMethods);
    }
    TokenRules.validate(joinMethod, rules == null ? Map.of() : rules);
    boolean secret = joinMethod.equals("token");
    String value = name;
    if (secret && value == null) {
      byte[] b = new byte[16];
      random.nextBytes(b);
      value = HexFormat.of().formatHex(b);
    } else if (secret && value.length() < 16) {
      throw new IllegalArgumentException(
          "a 'token' token's name is its secret and needs at least 16 characters; omit metadata.name for a random one");
    } else if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("a '" + joinMethod + "' token needs metadata.name");
    }
    Token t = new Token(
        Hashes.tokenId(value),
        botName,
        joinMethod,
        now,
        expiresAt,
        null,
        secret ? null : value,
        rules);
    boolean inserted = store.inTransaction(tx -> {
      if (!tx.insertToken(t)) {
        return false;
      }
      audit.success(
          tx,
          "token.created",
          botName,
          null,
          Map.of(
              "token_id", t.shortId(), "join_method", joinMethod, "expires", expiresAt.toString()));
      return true;
    });
    if (!inserted) {
      throw new IllegalStateException(
          "a token named '" + (secret ? t.shortId() : value) + "' already exists");
    }
    return new Created(value, t);
  }

  @Override
  public List<Token> list() {
    open.run();
    return store.tokens();
  }

  @Override
  public boolean delete(String idOrSecret) {
    open.run();
    Objects.requireNonNull(idOrSecret, "idOrSecret");
    String id = idOrSecret;
    boolean deleted = store.deleteToken(id);
    if (!deleted) {
      id = Hashes.tokenId(idOrSecret);
      deleted = store.deleteToken(id);
    }
    if (deleted) {
      audit.success("token.deleted", null, null, Map.of("token_id", id.substring(0, 12)));
    }
    return deleted;
  }
}
