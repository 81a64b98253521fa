package dev.machineid.issuer.join;

/** The store operation a verifier of single-use tokens needs. */
@FunctionalInterface
public interface TokenLedger {
  /**
   * Consumes a token if it exists, is for {@code joinMethod}, is unexpired and unused — atomically:
   * of any number of concurrent calls for one token, across replicas, at most one sees
   * {@link TokenConsumption.Outcome#CONSUMED}.
   *
   * <p>The issuer's ledger refuses a join whose token's bot, token or attested identity is locked
   * by throwing its {@code bot_locked} refusal, after rolling the consumption back; a verifier lets
   * that exception pass rather than catching it.
   *
   * @param tokenSecret the token as the client sent it
   */
  TokenConsumption consume(String tokenSecret, String joinMethod);
}
