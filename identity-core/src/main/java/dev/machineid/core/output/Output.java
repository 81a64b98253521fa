package dev.machineid.core.output;

import dev.machineid.core.Identity;

/**
 * Receives the credentials on every issuance and renders them somewhere (files for tools outside the
 * JVM, a Kubernetes Secret, memory). Called on the renewal thread after the new identity is
 * published; a failure is logged and reported in health but never stops renewal.
 */
public interface Output {
  /** A short name for logs and health, e.g. {@code identity:memory}. */
  String name();

  /** Writes the credentials derived from this identity. */
  void write(Identity identity);
}
