package dev.machineid.issuer.store;

import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.join.TokenConsumption;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Join tokens, read by their key ({@link #findToken}) on every join, listed only for administration. Part of {@link IssuerStore}.
 */
public interface TokenStore {
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
}
