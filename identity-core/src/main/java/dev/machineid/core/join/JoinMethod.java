package dev.machineid.core.join;

/**
 * The client side of a join method: how this process proves what it runs on.
 *
 * <p>Implementations come from {@link JoinMethodProvider}s found with {@link java.util.ServiceLoader},
 * or are passed to the builder directly. They must be thread-safe.
 */
public interface JoinMethod {
  /** The method's name on the wire, e.g. {@code token}, {@code iam}, {@code kubernetes}. */
  String name();

  /**
   * The join token's name sent with the challenge and join requests: for {@code token} the secret
   * itself, for delegated methods the plain name of the token resource that holds the rules.
   */
  String token();

  /**
   * True if the issuer renews this method's bots with {@code /v1/renew} and generations
   * ({@code token}, {@code ec2}); false if each renewal re-attests with a fresh proof.
   */
  default boolean renewable() {
    return false;
  }

  /** True if the proof can be presented only once (the SDK then warns about memory storage). */
  default boolean singleUse() {
    return renewable();
  }

  /**
   * Makes the proof for one join. A proof that can carry the challenge must carry
   * {@link JoinContext#challengeId()}.
   *
   * @return the method's proof, sent as the {@code proof} object of the join request (for
   *     {@code token}, {@link JoinProof#empty()})
   * @throws dev.machineid.core.JoinException if the proof cannot be made
   */
  JoinProof attest(JoinContext context);
}
