package dev.machineid.core.storage;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/** In-memory storage: nothing touches disk, nothing survives a restart. */
public final class MemoryStorage implements Storage {
  private final AtomicReference<StoredIdentity> current = new AtomicReference<>();

  /** Empty storage: nothing to load until the first save. */
  public MemoryStorage() {}

  @Override
  public Optional<StoredIdentity> load() {
    return Optional.ofNullable(current.get());
  }

  @Override
  public void save(StoredIdentity identity) {
    current.set(Objects.requireNonNull(identity, "identity"));
  }

  @Override
  public boolean durable() {
    return false;
  }

  @Override
  public String toString() {
    return "memory";
  }
}
