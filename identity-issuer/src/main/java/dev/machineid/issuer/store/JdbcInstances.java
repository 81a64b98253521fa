package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.bind;
import static dev.machineid.issuer.store.Jdbc.fromJson;
import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.json;
import static dev.machineid.issuer.store.Jdbc.query;
import static dev.machineid.issuer.store.Jdbc.update;

import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.IssuerStore.CallerRecord;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.Lock;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The {@code bot_instances} table of the JDBC store ({@link InstanceStore}): an instance is read by
 * its id (the primary key), listed by its bot (indexed); a renewal is one compare-and-set on the
 * generation. Each method runs on the connection it is given.
 */
final class JdbcInstances {
  private static final String COLUMNS =
      "id, bot, join_method, token_id, attested_identity, created_at, generation, public_key_hash, credentials, serial,"
          + " initial_authentication, latest_authentication, latest_heartbeat";

  /**
   * One query: the instance, its bot (left join: null once deleted) and one row per active lock
   * on any of the caller's targets (left join: one row of nulls when there is none).
   */
  private static final String CALLER_QUERY =
      "SELECT i.id, i.bot, i.join_method, i.token_id, i.attested_identity, i.created_at, i.generation, i.public_key_hash, i.credentials, i.serial,"
          + " i.initial_authentication, i.latest_authentication, i.latest_heartbeat,"
          + " b.name AS b_name, b.roles AS b_roles, b.traits AS b_traits, b.created_at AS b_created_at,"
          + " l.id AS l_id, l.target AS l_target, l.target_value AS l_target_value, l.reason AS l_reason, l.created_at AS l_created_at, l.expires_at AS l_expires_at"
          + " FROM bot_instances i"
          + " LEFT JOIN bots b ON b.name = i.bot"
          + " LEFT JOIN locks l ON (l.expires_at IS NULL OR l.expires_at > ?) AND ("
          + "(l.target = 'bot' AND l.target_value = i.bot) OR (l.target = 'instance' AND l.target_value = i.id)"
          + " OR (l.target = 'serial' AND l.target_value = ?) OR (l.target = 'token' AND l.target_value = i.token_id)"
          + " OR (l.target = 'identity' AND l.target_value = i.attested_identity))"
          + " WHERE i.id = ? ORDER BY l.created_at, l.id";

  boolean insert(Connection c, InstanceRecord r) throws SQLException {
    return update(
            c,
            "INSERT INTO bot_instances (" + COLUMNS
                + ", latest_authenticated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            r.id(),
            r.bot(),
            r.joinMethod(),
            r.tokenId(),
            r.attestedIdentity(),
            r.createdAt(),
            r.generation(),
            r.publicKeyHash(),
            r.credentialsJson(),
            r.serial(),
            json(r.initialAuthentication()),
            json(r.latestAuthentication()),
            r.latestHeartbeat() == null ? null : json(r.latestHeartbeat()),
            r.latestAuthentication().time())
        == 1;
  }

  Optional<InstanceRecord> find(Connection c, String instanceId) throws SQLException {
    return query(
            c,
            JdbcInstances::instance,
            "SELECT " + COLUMNS + " FROM bot_instances WHERE id = ?",
            instanceId)
        .stream()
        .findFirst();
  }

  List<InstanceRecord> listOfBot(Connection c, String botName) throws SQLException {
    return query(
        c,
        JdbcInstances::instance,
        "SELECT " + COLUMNS + " FROM bot_instances WHERE bot = ? ORDER BY created_at, id",
        botName);
  }

  List<InstanceRecord> listWithIdentity(Connection c, String attestedIdentity) throws SQLException {
    return query(
        c,
        JdbcInstances::instance,
        "SELECT " + COLUMNS
            + " FROM bot_instances WHERE attested_identity = ? ORDER BY created_at, id",
        attestedIdentity);
  }

  /** The instance, its bot and the active locks on the caller's targets, in one query. */
  Optional<CallerRecord> findCaller(Connection c, String instanceId, String serial, Instant now)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(CALLER_QUERY)) {
      bind(ps, now, serial, instanceId);
      try (ResultSet rs = ps.executeQuery()) {
        InstanceRecord instance = null;
        Bot bot = null;
        List<Lock> locks = new ArrayList<>();
        while (rs.next()) {
          if (instance == null) {
            instance = instance(rs);
            bot = JdbcBots.bot(rs, "b_");
          }
          if (rs.getString("l_id") != null) {
            locks.add(JdbcLocks.lock(rs, "l_"));
          }
        }
        return instance == null
            ? Optional.empty()
            : Optional.of(new CallerRecord(instance, bot, locks));
      }
    }
  }

  boolean compareAndSetGeneration(
      Connection c,
      String instanceId,
      long expected,
      long newGeneration,
      String newKeyHash,
      String credentialsJson,
      String serial,
      Authentication latest)
      throws SQLException {
    return update(
            c,
            "UPDATE bot_instances SET generation = ?, public_key_hash = ?, credentials = ?, serial = ?, latest_authentication = ?, latest_authenticated_at = ?"
                + " WHERE id = ? AND generation = ?",
            newGeneration,
            newKeyHash,
            credentialsJson,
            serial,
            json(latest),
            latest.time(),
            instanceId,
            expected)
        == 1;
  }

  boolean updateHeartbeat(Connection c, String instanceId, Heartbeat heartbeat)
      throws SQLException {
    return update(
            c,
            "UPDATE bot_instances SET latest_heartbeat = ? WHERE id = ?",
            json(heartbeat),
            instanceId)
        == 1;
  }

  /** Deletes every instance of a bot (a step of deleting the bot); returns how many. */
  int deleteOfBot(Connection c, String botName) throws SQLException {
    return update(c, "DELETE FROM bot_instances WHERE bot = ?", botName);
  }

  /** Deletes the instances last authenticated at or before {@code cutoff}; returns how many. */
  int deleteAuthenticatedBefore(Connection c, Instant cutoff) throws SQLException {
    return update(c, "DELETE FROM bot_instances WHERE latest_authenticated_at <= ?", cutoff);
  }

  private static InstanceRecord instance(ResultSet rs) throws SQLException {
    String hb = rs.getString("latest_heartbeat");
    return new InstanceRecord(
        rs.getString("id"),
        rs.getString("bot"),
        rs.getString("join_method"),
        rs.getString("token_id"),
        rs.getString("attested_identity"),
        instant(rs, "created_at"),
        rs.getLong("generation"),
        rs.getString("public_key_hash"),
        rs.getString("credentials"),
        rs.getString("serial"),
        fromJson(rs.getString("initial_authentication"), Authentication.class),
        fromJson(rs.getString("latest_authentication"), Authentication.class),
        hb == null ? null : fromJson(hb, Heartbeat.class));
  }
}
