package dev.machineid.issuer;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The issuer's bots ({@link Issuer#bots()}): the identities machines join as. Each change commits
 * with its audit event. The Java API and the admin HTTP API ({@code /v1/admin/bots}) call the same
 * service. Implemented by the issuer; not for implementing.
 *
 * <p>Methods throw {@link IllegalArgumentException} for an invalid value (a name not matching
 * {@code [a-z0-9][a-z0-9._-]{0,62}}) and {@link IllegalStateException} for a conflict with existing
 * state (a bot that already exists) or once the issuer is closed.
 */
public interface Bots {

  /** A bot with no roles and no traits. */
  default Bot create(String name) {
    return create(name, List.of(), Map.of());
  }

  /**
   * @throws IllegalArgumentException for an invalid name
   * @throws IllegalStateException if the bot exists
   */
  Bot create(String name, List<String> roles, Map<String, List<String>> traits);

  /**
   * Changes a bot's roles, logins or traits, keeping its instances, tokens and creation time, with
   * its audit event: the next issuance (renewal, {@code /v1/certificates}) follows the new values.
   * A {@code null} argument keeps the current value; {@code traits} replaces every trait but the
   * logins, which {@code logins} replaces (an empty list removes them).
   *
   * @return the updated bot, or empty if there is no bot of that name (nothing changes)
   * @throws IllegalArgumentException if a role is not stored (nothing changes)
   */
  Optional<Bot> update(
      String name, List<String> roles, List<String> logins, Map<String, List<String>> traits);

  /** Every bot. */
  List<Bot> list();

  /** The bot of that name, if there is one. */
  Optional<Bot> find(String name);

  /**
   * Deletes a bot, its instances and its tokens, with its audit event, in one transaction: its
   * certificates authorise nothing from then on (a renewal or credential request in flight on any
   * replica is refused unless it committed first), its unused tokens join nothing, and a bot created
   * later with the same name shares nothing with it. Credentials already issued for targets
   * (databases, SSH, Kubernetes) stay valid until they expire, at most 1 h.
   *
   * @return false if there was no such bot
   */
  boolean delete(String name);
}
