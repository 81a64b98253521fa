package dev.machineid.issuer.internal.aws;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.join.JoinRejectedException;

/** Rejections whose operator-facing reason starts with the rule that failed: {@code rule=<name>: …}. */
final class Rejections {
  private Rejections() {}

  static JoinRejectedException reject(String rule, String reason) {
    return new JoinRejectedException(ErrorCode.PROOF_REJECTED, "rule=" + rule + ": " + reason);
  }

  static JoinRejectedException reject(String rule, String reason, Throwable cause) {
    return new JoinRejectedException(
        ErrorCode.PROOF_REJECTED, "rule=" + rule + ": " + reason, cause);
  }
}
