package dev.machineid.issuer;

import java.util.List;
import java.util.Optional;

/**
 * The bot instances that joined the issuer ({@link Issuer#instances()}), each with whether a lock
 * names it now. The Java API and the admin HTTP API ({@code /v1/admin/instances}) call the same
 * service. Implemented by the issuer; not for implementing.
 */
public interface Instances {

  /** The instances of {@code bot}. */
  List<BotInstance> list(String bot);

  /** The instance with that id, if there is one. */
  Optional<BotInstance> find(String id);
}
