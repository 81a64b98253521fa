package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.bind;
import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.update;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.StoreException;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.join.TokenConsumption;
import dev.machineid.issuer.join.TokenConsumption.Outcome;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code tokens} table of the JDBC store ({@link TokenStore}): each method runs on the
 * connection it is given, so that it joins the caller's transaction. A token is read by its key;
 * consumption is one conditional update.
 */
final class JdbcTokens {
  private static final String COLUMNS =
      "id, bot, join_method, created_at, expires_at, consumed_at, name, rules";
  private static final TypeReference<Map<String, Object>> OBJECT_MAP = new TypeReference<>() {};
  private final ObjectMapper json = Protocol.newMapper();

  boolean insert(Connection c, Token token) throws SQLException {
    String rules;
    try {
      rules = json.writeValueAsString(token.rules());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise the rules of a token", e);
    }
    return update(
            c,
            "INSERT INTO tokens (" + COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            token.id(),
            token.bot(),
            token.joinMethod(),
            token.createdAt(),
            token.expiresAt(),
            token.consumedAt(),
            token.name(),
            rules)
        == 1;
  }

  List<Token> list(Connection c) throws SQLException {
    return read(c, "SELECT " + COLUMNS + " FROM tokens ORDER BY created_at, id");
  }

  Optional<Token> find(Connection c, String id) throws SQLException {
    return read(c, "SELECT " + COLUMNS + " FROM tokens WHERE id = ?", id).stream()
        .findFirst();
  }

  boolean delete(Connection c, String id) throws SQLException {
    return update(c, "DELETE FROM tokens WHERE id = ?", id) == 1;
  }

  /** Deletes every token of a bot (a step of deleting the bot); returns how many. */
  int deleteOfBot(Connection c, String botName) throws SQLException {
    return update(c, "DELETE FROM tokens WHERE bot = ?", botName);
  }

  /** Deletes the tokens that expired at or before {@code cutoff}; returns how many. */
  int deleteExpiredBefore(Connection c, Instant cutoff) throws SQLException {
    return update(c, "DELETE FROM tokens WHERE expires_at <= ?", cutoff);
  }

  TokenConsumption consume(Connection c, String tokenId, String joinMethod, Instant now)
      throws SQLException {
    // The decision: one conditional UPDATE; of any number of concurrent callers on any replica,
    // the database lets exactly one change the row.
    int changed = update(
        c,
        "UPDATE tokens SET consumed_at = ? WHERE id = ? AND join_method = ? AND consumed_at IS NULL AND expires_at > ?",
        now,
        tokenId,
        joinMethod,
        now);
    // The explanation: read the row to say who it was for, or why it was not consumed.
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT bot, join_method, expires_at, consumed_at FROM tokens WHERE id = ?")) {
      ps.setString(1, tokenId);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return new TokenConsumption(
              changed == 1 ? Outcome.CONSUMED : Outcome.MISSING, tokenId, null);
        }
        String bot = rs.getString("bot");
        Outcome outcome;
        if (changed == 1) {
          outcome = Outcome.CONSUMED;
        } else if (!rs.getString("join_method").equals(joinMethod)) {
          outcome = Outcome.WRONG_METHOD;
        } else if (rs.getObject("consumed_at") != null) {
          outcome = Outcome.ALREADY_CONSUMED;
        } else {
          outcome = Outcome.EXPIRED;
        }
        return new TokenConsumption(outcome, tokenId, bot);
      }
    }
  }

  private List<Token> read(Connection c, String sql, Object... args) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      bind(ps, args);
      try (ResultSet rs = ps.executeQuery()) {
        List<Token> out = new ArrayList<>();
        while (rs.next()) {
          Map<String, Object> rules;
          try {
            rules = json.readValue(rs.getString("rules"), OBJECT_MAP);
          } catch (JsonProcessingException e) {
            throw new StoreException(
                "stored JSON does not parse as the rules of token " + rs.getString("id"), e);
          }
          out.add(new Token(
              rs.getString("id"),
              rs.getString("bot"),
              rs.getString("join_method"),
              instant(rs, "created_at"),
              instant(rs, "expires_at"),
              instant(rs, "consumed_at"),
              rs.getString("name"),
              rules));
        }
        return List.copyOf(out);
      }
    }
  }
}
