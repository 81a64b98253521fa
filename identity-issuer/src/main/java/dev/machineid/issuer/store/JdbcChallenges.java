package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.update;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;

/**
 * The {@code used_challenges} table of the JDBC store ({@link ChallengeStore}): a redeemed nonce is
 * one insert on its primary key, so a challenge is single-use across replicas. Each method runs on
 * the connection it is given.
 */
final class JdbcChallenges {
  /** @return false if the nonce was recorded already */
  boolean insertUsed(Connection c, String nonce, Instant expiresAt) throws SQLException {
    return update(
            c,
            "INSERT INTO used_challenges (nonce, expires_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            nonce,
            expiresAt)
        == 1;
  }

  /** Drops the nonces that expired at or before {@code now}; returns how many. */
  int deleteExpired(Connection c, Instant now) throws SQLException {
    return update(c, "DELETE FROM used_challenges WHERE expires_at <= ?", now);
  }
}
