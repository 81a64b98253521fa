package dev.machineid.core;

/**
 * Receives lifecycle events of a {@link MachineIdentity}. Called on the SDK's renewal thread: keep
 * the work short. An exception thrown by a listener is logged and does not affect the SDK.
 */
public interface IdentityListener {
  /** The first identity after a join (or re-join after expiry). */
  default void onIssued(Identity identity) {}

  /** A renewal replaced the previous identity. */
  default void onRenewed(Identity previous, Identity current) {}

  /** A renewal attempt failed; the current identity (if still valid) keeps being served. */
  default void onRenewalFailed(Throwable error, int consecutiveFailures) {}

  /** The identity expired without being renewed; TLS now serves no certificate. */
  default void onExpired(Identity expired) {}

  /** The issuer refused this bot or instance with a lock; renewals will not succeed until lifted. */
  default void onLocked(IssuerException error) {}
}
