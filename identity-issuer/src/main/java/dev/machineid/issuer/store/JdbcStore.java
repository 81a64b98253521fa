package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.update;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.StoreException;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.internal.store.V6__Partitioned_audit_chain;
import dev.machineid.issuer.join.TokenConsumption;
import dev.machineid.issuer.store.Jdbc.Work;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link IssuerStore} on JDBC: PostgreSQL for several issuer replicas, H2 (in {@code MODE=PostgreSQL},
 * in memory or in a file) for one. The schema is migrated by Flyway from the migrations beside this
 * class; connections come from a HikariCP pool.
 *
 * <p>Every single-use, compare-and-set and lock decision is one SQL statement whose row count
 * decides: {@code INSERT … ON CONFLICT DO NOTHING} on a primary key (a redeemed challenge, a new
 * bot), {@code UPDATE tokens … WHERE consumed_at IS NULL AND expires_at > ?} (a token used once),
 * {@code UPDATE bot_instances … WHERE generation = ?} (renewal). No JVM lock takes part, so any
 * number of stores in any number of processes may share one database.
 *
 * <p>The audit log is append-only and hash-chained, split into {@link Builder#auditShards(int)}
 * shards (see {@link JdbcAudit}): each row stores {@code prev_hash} and
 * {@code hash = SHA-256(prev_hash ‖ canonical content)}. An append locks its shard's head row
 * ({@code SELECT … FOR UPDATE}), inserts the next row and moves the head, all in the caller's
 * transaction, as the transaction's last statements so the head is held only until commit.
 * Concurrent appends from several replicas therefore queue on one of the shards' heads, each shard
 * a chain with gapless sequence numbers; checkpoints tie the shards together, and
 * {@link #verifyAudit()} walks every shard and the checkpoints.
 *
 * <p>Instants are stored with microsecond precision (the precision of PostgreSQL's
 * {@code timestamp with time zone}); finer parts are truncated on the way in.
 */
public final class JdbcStore implements IssuerStore {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcStore.class);
  /** Audit shards on PostgreSQL unless {@link Builder#auditShards(int)} says otherwise. */
  public static final int DEFAULT_POSTGRES_AUDIT_SHARDS = 16;

  private static final Duration LONGEST_CERTIFICATE = Duration.ofHours(24);
  private static final String MIGRATIONS = "classpath:dev/machineid/issuer/store";
  private static final Duration DEFAULT_POOL_WAIT = Duration.ofSeconds(2);
  private static final Duration MIN_POOL_WAIT = Duration.ofMillis(250);

  private final Shared shared;
  /** The transaction's connection in a view made by {@link #inTransaction}; {@code null} in the root. */
  private final Connection bound;
  /** In a transaction view: the chain head its audit append made, recorded once it commits. */
  private JdbcAudit.Mark appended;
  /** In a transaction view: the audit shard its appends go to, picked at the first. */
  private Integer auditShard;

  /** What the root store and its transaction views share. */
  private static final class Shared {
    final HikariDataSource pool;
    final String description;
    final boolean shutdownOnClose;
    /** H2 has no {@code FOR SHARE}; issuing transactions take the revocation row with {@code FOR UPDATE}. */
    final boolean h2;
    /** The audit chain, and the newest heads this store committed or verified. */
    final JdbcAudit audit;

    final JdbcTokens tokens = new JdbcTokens();
    final JdbcBots bots = new JdbcBots();
    final JdbcInstances instances = new JdbcInstances();
    final JdbcLocks locks = new JdbcLocks();
    final JdbcRoles roles = new JdbcRoles();
    final JdbcAdmins admins = new JdbcAdmins();
    final JdbcChallenges challenges = new JdbcChallenges();
    volatile boolean closed;

    Shared(
        HikariDataSource pool,
        String description,
        boolean shutdownOnClose,
        boolean h2,
        int auditShards) {
      this.pool = pool;
      this.audit = new JdbcAudit(auditShards);
      this.description = description;
      this.shutdownOnClose = shutdownOnClose;
      this.h2 = h2;
    }
  }

  private JdbcStore(Shared shared, Connection bound) {
    this.shared = shared;
    this.bound = bound;
  }

  /** A private H2 database in this JVM's memory, dropped when the store is closed. */
  public static JdbcStore inMemory() {
    return new Builder("jdbc:h2:mem:machineid-" + UUID.randomUUID())
        .shutdownOnClose()
        .build();
  }

  /**
   * Settings for a store on {@code jdbcUrl}: {@code jdbc:postgresql://host:port/db} or
   * {@code jdbc:h2:mem:name} / {@code jdbc:h2:file:/path} (H2 URLs get {@code MODE=PostgreSQL} and
   * friends appended).
   */
  public static Builder builder(String jdbcUrl) {
    return new Builder(jdbcUrl);
  }

  /** Settings for a {@link JdbcStore}; each may be given once. */
  public static final class Builder {
    private final String url;
    private final Set<String> given = new HashSet<>();
    private String user;
    private String password;
    private int maximumPoolSize = 10;
    private boolean migrate = true;
    private boolean shutdownOnClose;
    private Duration poolWait = DEFAULT_POOL_WAIT;
    private int auditShards;

    private Builder(String url) {
      Objects.requireNonNull(url, "jdbcUrl");
      if (!url.startsWith("jdbc:postgresql:") && !url.startsWith("jdbc:h2:")) {
        throw new IllegalArgumentException("unsupported JDBC URL '" + url
            + "': use jdbc:postgresql://HOST:PORT/DB or jdbc:h2:mem:NAME or jdbc:h2:file:PATH");
      }
      this.url = url.startsWith("jdbc:h2:") ? h2Url(url) : url;
    }

    private void once(String setting) {
      if (!given.add(setting)) {
        throw new IllegalStateException(setting + " was already set");
      }
    }

    /** Database user and password ({@code null} for none). */
    public Builder credentials(String user, String password) {
      once("credentials");
      this.user = user;
      this.password = password;
      return this;
    }

    /** Most connections the pool holds; default 10. */
    public Builder maximumPoolSize(int size) {
      once("maximumPoolSize");
      if (size < 1 || size > 500) {
        throw new IllegalArgumentException("maximumPoolSize must be 1 to 500, got " + size);
      }
      this.maximumPoolSize = size;
      return this;
    }

    /**
     * Whether to migrate the schema at start (default true). Replicas connecting with a
     * least-privilege role set false and leave migrations to the owner role.
     */
    public Builder migrate(boolean migrate) {
      once("migrate");
      this.migrate = migrate;
      return this;
    }

    /**
     * How long a call waits for a pooled connection before it fails (default 2 s, at least
     * 250 ms). With the database down every call waits this long, so keep it well under the
     * clients' request timeout: the issuer then answers {@code unavailable} (503) promptly.
     */
    public Builder poolWait(Duration wait) {
      once("poolWait");
      Objects.requireNonNull(wait, "wait");
      if (wait.compareTo(MIN_POOL_WAIT) < 0 || wait.compareTo(Duration.ofMinutes(1)) > 0) {
        throw new IllegalArgumentException(
            "poolWait must be 250ms to 1m, got " + GoDuration.format(wait));
      }
      this.poolWait = wait;
      return this;
    }

    /**
     * How many shards the audit chain is split into for this store's appends (1 to 1024): each is a
     * hash chain with its own head, so concurrent audited writes on any replica queue on one of
     * {@code shards} heads instead of all on one; checkpoints tie the shards together for
     * verification. Default 16 on PostgreSQL, 1 on H2 (one process, whose writes H2 serialises
     * anyway). Replicas may differ: verification walks every shard in the database.
     */
    public Builder auditShards(int shards) {
      once("auditShards");
      if (shards < 1 || shards > 1024) {
        throw new IllegalArgumentException("auditShards must be 1 to 1024, got " + shards);
      }
      this.auditShards = shards;
      return this;
    }

    Builder shutdownOnClose() {
      this.shutdownOnClose = true;
      return this;
    }

    /**
     * Connects, migrates (unless turned off) and returns the store.
     *
     * @throws StoreException if the database cannot be reached or migrated
     */
    public JdbcStore build() {
      HikariConfig config = new HikariConfig();
      config.setJdbcUrl(url);
      config.setUsername(user);
      config.setPassword(password);
      config.setMaximumPoolSize(maximumPoolSize);
      config.setMinimumIdle(Math.min(2, maximumPoolSize));
      config.setPoolName("machineid-store");
      config.setConnectionTimeout(poolWait.toMillis());
      config.setInitializationFailTimeout(10_000);
      try {
        H2Files.prepare(url);
      } catch (IOException e) {
        throw new StoreException(
            "cannot create the issuer database files for " + redact(url) + ": " + e.getMessage(),
            e);
      }
      String description = redact(url);
      HikariDataSource pool;
      try {
        pool = new HikariDataSource(config);
      } catch (RuntimeException e) {
        throw new StoreException(
            "cannot connect to the issuer database " + description + ": " + rootMessage(e), e);
      }
      try {
        if (migrate) {
          Flyway.configure(JdbcStore.class.getClassLoader())
              .dataSource(pool)
              .locations(MIGRATIONS)
              .javaMigrations(new V6__Partitioned_audit_chain())
              .load()
              .migrate();
        }
      } catch (RuntimeException e) {
        pool.close();
        throw new StoreException(
            "cannot migrate the issuer database " + description + ": " + rootMessage(e), e);
      }
      try {
        H2Files.restrict(url);
      } catch (IOException e) {
        pool.close();
        throw new StoreException(
            "cannot make the issuer database files of " + description + " private (0600): "
                + e.getMessage(),
            e);
      }
      LOG.debug("issuer store on {}", description);
      boolean h2 = url.startsWith("jdbc:h2:");
      return new JdbcStore(
          new Shared(
              pool,
              description,
              shutdownOnClose,
              h2,
              auditShards > 0 ? auditShards : h2 ? 1 : DEFAULT_POSTGRES_AUDIT_SHARDS),
          null);
    }
  }

  static String h2Url(String url) {
    String lower = url.toLowerCase(Locale.ROOT);
    StringBuilder b = new StringBuilder(url);
    if (!lower.contains(";mode=")) {
      b.append(";MODE=PostgreSQL");
    }
    if (!lower.contains(";database_to_lower=")) {
      b.append(";DATABASE_TO_LOWER=TRUE");
    }
    if (!lower.contains(";default_null_ordering=")) {
      b.append(";DEFAULT_NULL_ORDERING=HIGH");
    }
    if (!lower.contains(";lock_timeout=")) {
      b.append(";LOCK_TIMEOUT=10000");
    }
    if (lower.startsWith("jdbc:h2:mem:") && !lower.contains(";db_close_delay=")) {
      b.append(";DB_CLOSE_DELAY=-1");
    }
    return b.toString();
  }

  private static String redact(String url) {
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q);
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
  }

  // ------------------------------------------------------------------ plumbing

  /** Runs {@code work} in the bound transaction, or on its own auto-committed connection. */
  private <T> T with(String what, Work<T> work) {
    ensureOpen();
    try {
      if (bound != null) {
        return work.run(bound);
      }
      try (Connection c = shared.pool.getConnection()) {
        return work.run(c);
      }
    } catch (SQLException e) {
      throw new StoreException(
          "issuer store (" + shared.description + "): " + what + " failed: " + e.getMessage()
              + " [SQLState " + e.getSQLState() + "]",
          e);
    }
  }

  /** Runs {@code work} in a transaction of its own unless one is bound. */
  private <T> T transactionally(String what, Work<T> work) {
    if (bound != null) {
      return with(what, work);
    }
    return inTransaction(view -> ((JdbcStore) view).with(what, work));
  }

  private void ensureOpen() {
    if (shared.closed) {
      throw new IllegalStateException("the issuer store is closed");
    }
  }

  @Override
  public <T> T inTransaction(Function<IssuerStore, T> work) {
    Objects.requireNonNull(work, "work");
    ensureOpen();
    if (bound != null) {
      return work.apply(this);
    }
    Connection c;
    try {
      c = shared.pool.getConnection();
    } catch (SQLException e) {
      throw new StoreException(
          "issuer store (" + shared.description + "): cannot get a connection: " + e.getMessage(),
          e);
    }
    try {
      c.setAutoCommit(false);
      T result;
      JdbcStore view = new JdbcStore(shared, c);
      try {
        result = work.apply(view);
      } catch (RuntimeException | Error e) {
        rollbackQuietly(c, e);
        throw e;
      }
      c.commit();
      if (view.appended != null) {
        shared.audit.witness(view.appended);
        if (view.appended.shard() != JdbcAudit.CHECKPOINTS && shared.audit.checkpointDue()) {
          checkpoint();
        }
      }
      return result;
    } catch (SQLException e) {
      rollbackQuietly(c, e);
      throw new StoreException(
          "issuer store (" + shared.description + "): transaction failed: " + e.getMessage()
              + " [SQLState " + e.getSQLState() + "]",
          e);
    } finally {
      try {
        c.setAutoCommit(true);
      } catch (SQLException ignored) {
        // the pool discards a broken connection
      }
      try {
        c.close();
      } catch (SQLException ignored) {
        // nothing more to do
      }
    }
  }

  private static void rollbackQuietly(Connection c, Throwable cause) {
    try {
      c.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  @Override
  public void close() {
    if (bound != null) {
      throw new IllegalStateException(
          "a transaction view of the store cannot be closed; the transaction ends when its work returns");
    }
    synchronized (shared) {
      if (shared.closed) {
        return;
      }
      if (shared.shutdownOnClose) {
        try (Connection c = shared.pool.getConnection();
            Statement s = c.createStatement()) {
          s.execute("SHUTDOWN");
        } catch (SQLException e) {
          LOG.debug("shutting down the in-memory database failed", e);
        }
      }
      shared.pool.close();
      shared.closed = true;
    }
  }

  // ------------------------------------------------------------------ challenges

  @Override
  public boolean insertUsedChallenge(String nonce, Instant expiresAt) {
    Objects.requireNonNull(nonce, "nonce");
    Objects.requireNonNull(expiresAt, "expiresAt");
    return with(
        "recording a used challenge", c -> shared.challenges.insertUsed(c, nonce, expiresAt));
  }

  // ------------------------------------------------------------------ bots

  @Override
  public boolean insertBot(Bot bot) {
    Objects.requireNonNull(bot, "bot");
    return with("inserting a bot", c -> shared.bots.insert(c, bot));
  }

  @Override
  public Optional<Bot> findBot(String name) {
    Objects.requireNonNull(name, "name");
    return with("reading a bot", c -> shared.bots.find(c, name));
  }

  @Override
  public List<Bot> bots() {
    return with("listing bots", shared.bots::list);
  }

  @Override
  public boolean updateBot(Bot bot) {
    Objects.requireNonNull(bot, "bot");
    return with("updating a bot", c -> shared.bots.update(c, bot));
  }

  @Override
  public boolean deleteBot(String name) {
    Objects.requireNonNull(name, "name");
    return transactionally("deleting a bot", c -> {
      // a revocation: first in the transaction, so that issuing transactions order against it
      Jdbc.revoke(c);
      if (!shared.bots.delete(c, name)) {
        return false;
      }
      shared.instances.deleteOfBot(c, name);
      shared.tokens.deleteOfBot(c, name);
      return true;
    });
  }

  // ------------------------------------------------------------------ tokens

  @Override
  public boolean insertToken(Token token) {
    Objects.requireNonNull(token, "token");
    return with("inserting a token", c -> shared.tokens.insert(c, token));
  }

  @Override
  public List<Token> tokens() {
    return with("listing tokens", shared.tokens::list);
  }

  @Override
  public Optional<Token> findToken(String tokenId) {
    Objects.requireNonNull(tokenId, "tokenId");
    return with("reading a token", c -> shared.tokens.find(c, tokenId));
  }

  @Override
  public boolean deleteToken(String tokenId) {
    Objects.requireNonNull(tokenId, "tokenId");
    return with("deleting a token", c -> shared.tokens.delete(c, tokenId));
  }

  @Override
  public TokenConsumption consumeToken(String tokenId, String joinMethod, Instant now) {
    Objects.requireNonNull(tokenId, "tokenId");
    Objects.requireNonNull(joinMethod, "joinMethod");
    Objects.requireNonNull(now, "now");
    return with("consuming a token", c -> shared.tokens.consume(c, tokenId, joinMethod, now));
  }

  // ------------------------------------------------------------------ bot instances

  @Override
  public boolean insertInstance(InstanceRecord instance) {
    Objects.requireNonNull(instance, "instance");
    return with("inserting a bot instance", c -> shared.instances.insert(c, instance));
  }

  @Override
  public Optional<InstanceRecord> findInstance(String instanceId) {
    Objects.requireNonNull(instanceId, "instanceId");
    return with("reading a bot instance", c -> shared.instances.find(c, instanceId));
  }

  @Override
  public List<InstanceRecord> instances(String botName) {
    Objects.requireNonNull(botName, "botName");
    return with("listing bot instances", c -> shared.instances.listOfBot(c, botName));
  }

  @Override
  public List<InstanceRecord> instancesWithIdentity(String attestedIdentity) {
    Objects.requireNonNull(attestedIdentity, "attestedIdentity");
    return with(
        "reading bot instances by identity",
        c -> shared.instances.listWithIdentity(c, attestedIdentity));
  }

  @Override
  public Optional<CallerRecord> findCaller(String instanceId, String serial, Instant now) {
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(serial, "serial");
    Objects.requireNonNull(now, "now");
    return with(
        "reading a bot instance for a call",
        c -> shared.instances.findCaller(c, instanceId, serial, now));
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
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(latest, "latest");
    return with(
        "advancing a generation",
        c -> shared.instances.compareAndSetGeneration(
            c, instanceId, expected, newGeneration, newKeyHash, credentialsJson, serial, latest));
  }

  @Override
  public boolean updateHeartbeat(String instanceId, Heartbeat heartbeat) {
    Objects.requireNonNull(instanceId, "instanceId");
    Objects.requireNonNull(heartbeat, "heartbeat");
    return with(
        "recording a heartbeat", c -> shared.instances.updateHeartbeat(c, instanceId, heartbeat));
  }

  // ------------------------------------------------------------------ revocation

  @Override
  public void awaitRevocations() {
    if (bound == null) {
      throw new IllegalStateException(
          "awaitRevocations orders a transaction: call it inside inTransaction");
    }
    with("ordering an issuance after revocations", c -> {
      // a shared row lock where the database has one: issuances do not wait for each other
      try (PreparedStatement ps = c.prepareStatement("SELECT epoch FROM revocations WHERE id = 1 "
              + (shared.h2 ? "FOR UPDATE" : "FOR SHARE"));
          ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException(
              "the revocations row is missing; the schema was not migrated or was damaged");
        }
      }
      return null;
    });
  }

  // ------------------------------------------------------------------ locks

  @Override
  public boolean insertLock(Lock lock) {
    Objects.requireNonNull(lock, "lock");
    Objects.requireNonNull(lock.id(), "lock id");
    Objects.requireNonNull(lock.createdAt(), "lock createdAt");
    return transactionally("inserting a lock", c -> {
      Jdbc.revoke(c);
      return shared.locks.insert(c, lock);
    });
  }

  @Override
  public List<Lock> findActiveLocks(Collection<LockKey> targets, Instant now) {
    Objects.requireNonNull(targets, "targets");
    Objects.requireNonNull(now, "now");
    if (targets.isEmpty()) {
      return List.of();
    }
    return with("reading locks", c -> shared.locks.findActive(c, targets, now));
  }

  @Override
  public List<Lock> locks() {
    return with("listing locks", shared.locks::list);
  }

  @Override
  public boolean deleteLock(String lockId) {
    Objects.requireNonNull(lockId, "lockId");
    return with("deleting a lock", c -> shared.locks.delete(c, lockId));
  }

  // ------------------------------------------------------------------ roles

  @Override
  public boolean insertRole(Role role) {
    Objects.requireNonNull(role, "role");
    return with("inserting a role", c -> shared.roles.insert(c, role));
  }

  @Override
  public Optional<Role> findRole(String name) {
    Objects.requireNonNull(name, "name");
    return with("reading a role", c -> shared.roles.find(c, name));
  }

  @Override
  public List<Role> roles() {
    return with("listing roles", shared.roles::list);
  }

  @Override
  public boolean deleteRole(String name) {
    Objects.requireNonNull(name, "name");
    return with("deleting a role", c -> shared.roles.delete(c, name));
  }

  @Override
  public boolean updateRole(Role role) {
    Objects.requireNonNull(role, "role");
    return with("updating a role", c -> shared.roles.update(c, role));
  }

  // ------------------------------------------------------------------ admin identities

  @Override
  public boolean insertAdmin(AdminIdentity admin) {
    Objects.requireNonNull(admin, "admin");
    return transactionally("inserting an admin", c -> shared.admins.insert(c, admin));
  }

  @Override
  public Optional<AdminIdentity> findAdmin(String name) {
    Objects.requireNonNull(name, "name");
    return with("reading an admin", c -> shared.admins.find(c, name));
  }

  @Override
  public List<AdminIdentity> admins() {
    return with("listing admins", shared.admins::list);
  }

  @Override
  public boolean removeAdmin(String name, Instant at) {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(at, "at");
    return transactionally("removing an admin", c -> {
      Jdbc.revoke(c);
      return shared.admins.remove(c, name, at);
    });
  }

  // ------------------------------------------------------------------ audit

  @Override
  public void appendAudit(AuditEvent event) {
    Objects.requireNonNull(event, "event");
    if (bound == null) {
      // in a transaction of its own, so that the view records the new head for the witness
      inTransaction(view -> {
        view.appendAudit(event);
        return null;
      });
      return;
    }
    with("appending an audit event", c -> {
      // one shard per transaction: its head stays locked until the commit
      if (auditShard == null) {
        auditShard = shared.audit.pickShard();
      }
      appended = shared.audit.append(c, auditShard, event);
      return null;
    });
  }

  @Override
  public List<AuditEvent> auditEvents() {
    return with("reading audit events", shared.audit::events);
  }

  @Override
  public List<AuditEvent> auditEvents(dev.machineid.issuer.AuditQuery query) {
    Objects.requireNonNull(query, "query");
    return with("listing audit events", c -> shared.audit.events(c, query));
  }

  @Override
  public AuditVerification verifyAudit() {
    return verify(null);
  }

  @Override
  public AuditVerification verifyAudit(long pinnedSequence, String pinnedHash) {
    Objects.requireNonNull(pinnedHash, "pinnedHash");
    if (pinnedSequence < 0 || !pinnedHash.matches("[0-9a-f]{64}")) {
      throw new IllegalArgumentException(
          "a pinned audit head is a sequence number >= 0 and a 64-digit lower-case hex hash");
    }
    return verify(new JdbcAudit.Mark(JdbcAudit.CHECKPOINTS, pinnedSequence, pinnedHash));
  }

  private AuditVerification verify(JdbcAudit.Mark pinned) {
    if (shared.audit.shards() > 1) {
      // tie the shards together first, so that the head reported (the newest checkpoint) covers
      // them all
      checkpoint();
    }
    return with("verifying the audit chain", c -> shared.audit.verify(c, pinned));
  }

  /** Records every shard's head in a checkpoint, in a transaction of its own; a failure is logged. */
  private void checkpoint() {
    try {
      inTransaction(view -> {
        JdbcStore v = (JdbcStore) view;
        v.with("writing an audit checkpoint", c -> v.appended = shared.audit.checkpoint(c));
        return null;
      });
    } catch (RuntimeException e) {
      LOG.warn("writing an audit checkpoint failed: {}", e.getMessage());
    }
  }

  @Override
  public int pruneAudit(Instant before) {
    Objects.requireNonNull(before, "before");
    if (bound == null) {
      // in a transaction of its own, so that the view records the prune's event for the witness
      return inTransaction(view -> view.pruneAudit(before));
    }
    return with("pruning the audit log", c -> {
      // the prune records itself in an audit.pruned event on the transaction's shard
      if (auditShard == null) {
        auditShard = shared.audit.pickShard();
      }
      JdbcAudit.Pruned pruned = shared.audit.prune(c, before, auditShard);
      if (pruned.recorded() != null) {
        appended = pruned.recorded();
      }
      return pruned.removed();
    });
  }

  // ------------------------------------------------------------------ serving record and readiness

  /**
   * The CA pin recorded by the first {@code issuer serve} on this store, if any has served from
   * it.
   */
  public Optional<String> servedCaPin() {
    return with("reading the serving record", c -> {
      try (PreparedStatement ps =
              c.prepareStatement("SELECT ca_pin FROM issuer_served WHERE id = 1");
          ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
      }
    });
  }

  /**
   * Records {@code caPin} as the authority serving from this store unless one is recorded
   * already (one row, decided by its key); returns the recorded pin, which is another one when
   * a different authority served first.
   */
  public String recordServed(String caPin, Instant at) {
    Objects.requireNonNull(caPin, "caPin");
    Objects.requireNonNull(at, "at");
    try {
      with(
          "recording the serving authority",
          c -> update(
              c,
              "INSERT INTO issuer_served (id, ca_pin, first_served_at) SELECT 1, ?, ? WHERE NOT EXISTS (SELECT 1 FROM issuer_served WHERE id = 1)",
              caPin,
              at));
    } catch (StoreException e) {
      // a replica recorded it at the same moment (unique key); the row read below decides
      LOG.debug("recording the serving authority raced another replica: {}", e.getMessage());
    }
    return servedCaPin()
        .orElseThrow(() -> new StoreException(
            "issuer store (" + shared.description + "): the serving record was not written", null));
  }

  /** Whether a pooled connection answers within the pool wait: the store is ready to serve. */
  public boolean ready() {
    try {
      return with("readiness check", c -> c.isValid(2));
    } catch (StoreException | IllegalStateException e) {
      return false;
    }
  }

  // ------------------------------------------------------------------ housekeeping

  @Override
  public int deleteExpired(Instant now, Duration retention) {
    Objects.requireNonNull(now, "now");
    Objects.requireNonNull(retention, "retention");
    Instant cutoff = now.minus(retention);
    return with("deleting expired records", c -> {
      int n = shared.challenges.deleteExpired(c, now);
      n += shared.tokens.deleteExpiredBefore(c, cutoff);
      n += shared.instances.deleteAuthenticatedBefore(c, cutoff.minus(LONGEST_CERTIFICATE));
      return n;
    });
  }

  @Override
  public String toString() {
    return "JdbcStore[" + shared.description + "]";
  }
}
