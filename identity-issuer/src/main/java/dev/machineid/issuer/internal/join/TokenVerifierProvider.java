package dev.machineid.issuer.internal.join;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.join.JoinAttempt;
import dev.machineid.issuer.join.JoinRejectedException;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.TokenConsumption;
import dev.machineid.issuer.join.VerifiedJoin;
import dev.machineid.issuer.join.VerifierContext;
import java.util.Map;

/** The {@code token} join method: a single-use secret naming the bot, consumed exactly once. */
public final class TokenVerifierProvider implements JoinVerifierProvider {
  public static final String NAME = "token";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JoinVerifier create(VerifierContext context) {
    return new Verifier();
  }

  /** The identity a token join attests, which an {@code identity} lock names: {@code token:<token id>}. */
  static String attestedIdentity(String tokenId) {
    return "token:" + tokenId;
  }

  static final class Verifier implements JoinVerifier {
    @Override
    public String name() {
      return NAME;
    }

    @Override
    public boolean renewable() {
      return true;
    }

    @Override
    public VerifiedJoin verify(JoinAttempt attempt) {
      if (attempt.token().isEmpty()) {
        throw new JoinRejectedException(ErrorCode.PROOF_REJECTED, "no token was sent");
      }
      if (!attempt.proof().isEmpty()) {
        throw new JoinRejectedException(
            ErrorCode.PROOF_REJECTED, "the token method takes an empty proof object");
      }
      TokenConsumption c = attempt.consumeToken();
      String shortId = c.tokenId().substring(0, 12);
      return switch (c.outcome()) {
        case CONSUMED ->
          new VerifiedJoin(
              c.botName(), c.tokenId(), attestedIdentity(c.tokenId()), Map.of("token_id", shortId));
        case EXPIRED ->
          throw new JoinRejectedException(
              ErrorCode.TOKEN_EXPIRED,
              "token " + shortId + " of bot " + c.botName() + " has expired");
        case ALREADY_CONSUMED ->
          throw new JoinRejectedException(
              ErrorCode.TOKEN_CONSUMED,
              "token " + shortId + " of bot " + c.botName() + " was already used");
        case WRONG_METHOD ->
          throw new JoinRejectedException(
              ErrorCode.PROOF_REJECTED, "token " + shortId + " is for another join method");
        case MISSING ->
          throw new JoinRejectedException(ErrorCode.PROOF_REJECTED, "no token with id " + shortId);
      };
    }
  }
}
