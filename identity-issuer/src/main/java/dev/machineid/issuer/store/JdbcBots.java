package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.fromJson;
import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.json;
import static dev.machineid.issuer.store.Jdbc.query;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.machineid.issuer.Bot;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code bots} table of the JDBC store ({@link BotStore}): a bot is read by its name (the
 * primary key); roles and traits are JSON columns. Each method runs on the connection it is given;
 * deleting a bot with its instances and tokens is the store's transaction, which calls
 * {@link #delete} as one of its steps.
 */
final class JdbcBots {
  private static final String COLUMNS = "name, roles, traits, created_at";
  private static final TypeReference<List<String>> STRINGS = new TypeReference<>() {};
  private static final TypeReference<Map<String, List<String>>> TRAITS = new TypeReference<>() {};

  boolean insert(Connection c, Bot bot) throws SQLException {
    return Jdbc.update(
            c,
            "INSERT INTO bots (" + COLUMNS + ") VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            bot.name(),
            json(bot.roles()),
            json(bot.traits()),
            bot.createdAt())
        == 1;
  }

  Optional<Bot> find(Connection c, String name) throws SQLException {
    return query(c, rs -> bot(rs, ""), "SELECT " + COLUMNS + " FROM bots WHERE name = ?", name)
        .stream()
        .findFirst();
  }

  List<Bot> list(Connection c) throws SQLException {
    return query(c, rs -> bot(rs, ""), "SELECT " + COLUMNS + " FROM bots ORDER BY name");
  }

  boolean update(Connection c, Bot bot) throws SQLException {
    return Jdbc.update(
            c,
            "UPDATE bots SET roles = ?, traits = ? WHERE name = ?",
            json(bot.roles()),
            json(bot.traits()),
            bot.name())
        == 1;
  }

  /** Deletes the bot's row only; its instances and tokens are the caller's to delete in the same transaction. */
  boolean delete(Connection c, String name) throws SQLException {
    return Jdbc.update(c, "DELETE FROM bots WHERE name = ?", name) == 1;
  }

  /**
   * The bot in the current row, its columns named with {@code prefix}; {@code null} when the name
   * column is null (a left join that found no bot).
   */
  static Bot bot(ResultSet rs, String prefix) throws SQLException {
    String name = rs.getString(prefix + "name");
    return name == null
        ? null
        : new Bot(
            name,
            fromJson(rs.getString(prefix + "roles"), STRINGS),
            fromJson(rs.getString(prefix + "traits"), TRAITS),
            instant(rs, prefix + "created_at"));
  }
}
