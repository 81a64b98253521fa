package dev.machineid.issuer.internal.resources;

import dev.machineid.issuer.BotInstance;
import dev.machineid.issuer.Instances;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.Lock;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** {@link Instances} on the store: each instance with whether a lock active now names it. */
public final class InstanceService implements Instances {
  private final IssuerStore store;
  private final Clock clock;
  private final Runnable open;

  /** @param open throws {@link IllegalStateException} once the issuer is closed */
  public InstanceService(IssuerStore store, Clock clock, Runnable open) {
    this.store = store;
    this.clock = clock;
    this.open = open;
  }

  @Override
  public List<BotInstance> list(String bot) {
    open.run();
    Instant now = clock.instant();
    List<BotInstance> out = new ArrayList<>();
    for (InstanceRecord r : store.instances(Objects.requireNonNull(bot, "bot"))) {
      out.add(view(r, now));
    }
    return List.copyOf(out);
  }

  @Override
  public Optional<BotInstance> find(String id) {
    open.run();
    Instant now = clock.instant();
    return store.findInstance(Objects.requireNonNull(id, "id")).map(r -> view(r, now));
  }

  private BotInstance view(InstanceRecord r, Instant now) {
    boolean locked = !store
        .findActiveLocks(
            List.of(
                new LockKey(Lock.Target.BOT, r.bot()),
                new LockKey(Lock.Target.INSTANCE, r.id()),
                new LockKey(Lock.Target.SERIAL, r.serial()),
                new LockKey(Lock.Target.TOKEN, r.tokenId()),
                new LockKey(Lock.Target.IDENTITY, r.attestedIdentity())),
            now)
        .isEmpty();
    return BotInstance.of(r, locked);
  }
}
