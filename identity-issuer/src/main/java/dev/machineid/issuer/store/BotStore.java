package dev.machineid.issuer.store;

import dev.machineid.issuer.Bot;
import dev.machineid.issuer.IssuerStore;
import java.util.List;
import java.util.Optional;

/**
 * Bots by name. Part of {@link IssuerStore}.
 */
public interface BotStore {
  /** @return false if a bot with that name exists */
  boolean insertBot(Bot bot);

  Optional<Bot> findBot(String name);

  List<Bot> bots();

  /**
   * Deletes a bot together with its instances and its tokens, in one transaction that is also a
   * revocation ({@link IssuerStore#awaitRevocations()}): the instances' certificates authorise nothing from
   * then on, unused tokens join nothing, and a bot created later with the same name shares nothing
   * with this one.
   *
   * @return false if there was no such bot (nothing changes)
   */
  boolean deleteBot(String name);

  /**
   * Replaces the roles and traits of the bot {@code bot.name()} by those of {@code bot}, keeping its
   * creation time, instances and tokens; the next issuance reads the new ones.
   *
   * @return false if there was no such bot (nothing changes)
   */
  boolean updateBot(Bot bot);
}
