package dev.machineid.issuer.internal.resources;

import dev.machineid.issuer.Bot;
import dev.machineid.issuer.Bots;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.internal.audit.Auditor;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** {@link Bots} on the store, each change with its audit event in one transaction. */
public final class BotService implements Bots {
  private final IssuerStore store;
  private final Auditor audit;
  private final Clock clock;
  private final Runnable open;

  /** @param open throws {@link IllegalStateException} once the issuer is closed */
  public BotService(IssuerStore store, Auditor audit, Clock clock, Runnable open) {
    this.store = store;
    this.audit = audit;
    this.clock = clock;
    this.open = open;
  }

  @Override
  public Bot create(String name, List<String> roles, Map<String, List<String>> traits) {
    open.run();
    Bot bot = new Bot(Bot.validateName(name), roles, traits, clock.instant());
    boolean inserted = store.inTransaction(tx -> {
      if (!tx.insertBot(bot)) {
        return false;
      }
      audit.success(tx, "bot.created", name, null, Map.of("roles", String.join(",", bot.roles())));
      return true;
    });
    if (!inserted) {
      throw new IllegalStateException(
          "bot '" + name + "' already exists; delete it first or choose another name");
    }
    return bot;
  }

  @Override
  public Optional<Bot> update(
      String name, List<String> roles, List<String> logins, Map<String, List<String>> traits) {
    open.run();
    Objects.requireNonNull(name, "name");
    return store.inTransaction(tx -> {
      Optional<Bot> current = tx.findBot(name);
      if (current.isEmpty()) {
        return Optional.<Bot>empty();
      }
      Bot was = current.get();
      List<String> newRoles = roles == null ? was.roles() : roles;
      for (String r : newRoles) {
        if (tx.findRole(r).isEmpty()) {
          throw new IllegalArgumentException(
              "no role named '" + r + "'; create it first with 'issuer roles create -f role.yaml'");
        }
      }
      Map<String, List<String>> newTraits =
          new LinkedHashMap<>(traits == null ? was.traits() : traits);
      newTraits.remove("logins");
      List<String> newLogins =
          logins != null ? logins : was.traits().getOrDefault("logins", List.of());
      if (!newLogins.isEmpty()) {
        newTraits.put("logins", newLogins);
      }
      Bot bot = new Bot(was.name(), newRoles, newTraits, was.createdAt());
      if (!tx.updateBot(bot)) {
        return Optional.<Bot>empty();
      }
      audit.success(tx, "bot.updated", name, null, Map.of("roles", String.join(",", bot.roles())));
      return Optional.of(bot);
    });
  }

  @Override
  public List<Bot> list() {
    open.run();
    return store.bots();
  }

  @Override
  public Optional<Bot> find(String name) {
    open.run();
    return store.findBot(Objects.requireNonNull(name, "name"));
  }

  @Override
  public boolean delete(String name) {
    open.run();
    Objects.requireNonNull(name, "name");
    return store.inTransaction(tx -> {
      if (!tx.deleteBot(name)) {
        return false;
      }
      audit.success(tx, "bot.deleted", name, null, Map.of());
      return true;
    });
  }
}
