package dev.machineid.issuer.join;

/** The store operation a verifier of single-use tokens needs. */
@FunctionalInterface
public interface TokenLedger {
  /**
   * Consumes a token if it exists, is for {@code joinMethod}, is unexpired and unused — atomically:
   * of any number of concurrent calls for one token, across replicas, at most one sees
   * {@link TokenConsumption.Outcome#CONSUMED}.
   *
   * @param tokenSecret the token as the client sent it
   */
  TokenConsumption consume(String tokenSecret, String joinMethod);
}
