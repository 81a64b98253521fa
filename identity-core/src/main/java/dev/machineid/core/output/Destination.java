package dev.machineid.core.output;

import java.util.Map;

/** Where an output writes its files. Each write replaces the whole set at once. */
public interface Destination {
  /** Replaces the destination's content with {@code files} (name → bytes) as one unit. */
  void write(Map<String, byte[]> files);

  /** The current content, name → bytes; empty before the first write. */
  Map<String, byte[]> read();

  /**
   * Checks, before the identity is acquired, that what exists of this destination can be written
   * safely, so a refusal comes before a single-use token is spent; by default nothing to check.
   *
   * @throws RuntimeException (typically an {@link dev.machineid.core.IdentityException}) saying why not
   */
  default void check() {}
}
