package dev.machineid.issuer.join;

/**
 * Server side of one join method: checks a client's proof and says which bot it becomes. Created
 * by a {@link JoinVerifierProvider}; called concurrently, so implementations are thread-safe.
 */
public interface JoinVerifier {
  /** The join method's wire name, such as {@code token}. */
  String name();

  /** True if instances that joined with this method renew with generations ({@code /v1/renew}). */
  boolean renewable();

  /**
   * True if the proof cannot carry the challenge and is therefore bound to the first bot instance
   * that used it (docs/architecture.md §6, e.g. {@code ec2}): while that instance is live, the issuer accepts the
   * same attested identity again only as a re-join over mTLS with that instance's certificate.
   */
  default boolean bindsOnFirstUse() {
    return false;
  }

  /**
   * Verifies a proof. Called after the challenge was checked and redeemed and the caller proved
   * possession of its key.
   *
   * @throws JoinRejectedException with the code the client sees and the reason the operator sees
   */
  VerifiedJoin verify(JoinAttempt attempt);
}
