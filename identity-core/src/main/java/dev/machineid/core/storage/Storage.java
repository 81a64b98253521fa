package dev.machineid.core.storage;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the bot keeps its own identity (key, certificate chain, generation, instance) between
 * renewals and, if durable, across restarts.
 */
public interface Storage {
  /** The stored identity, if any. */
  Optional<StoredIdentity> load();

  /** Replaces the stored identity atomically: a crash leaves the old or the new one, never a mix. */
  void save(StoredIdentity identity);

  /** True if the identity survives a restart of the process. */
  boolean durable();

  /**
   * Checks, before the first join, that the identity can be saved here safely, so a refusal comes
   * before a single-use token is spent; by default nothing to check.
   */
  default void check() {}

  /** Keeps the identity in memory only (the default). */
  static Storage memory() {
    return new MemoryStorage();
  }

  /** Keeps the identity in one file under {@code directory}, readable only by the owner (0600). */
  static Storage directory(Path directory) {
    return new DirectoryStorage(directory);
  }
}
