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

  /**
   * Called once by {@link dev.machineid.core.MachineIdentity.Builder#build()}, before the first
   * write, with the identity that will call {@link #write}. Outputs that render role-scoped
   * credentials keep it and ask {@link dev.machineid.core.MachineIdentity#credentials} for them on
   * their first write; outputs that need the issuer's SSH or database authorities read
   * {@link dev.machineid.core.MachineIdentity#trustBundle()}. The default ignores it.
   */
  default void attach(dev.machineid.core.MachineIdentity identity) {}

  /**
   * True if this output renders the bot identity's SSH certificate
   * ({@link Identity#sshCertificate()}): a {@link dev.machineid.core.MachineIdentity} with such an
   * output sends {@code ssh_public_key} at every join and renewal, as
   * {@link dev.machineid.core.MachineIdentity.Builder#sshCertificate(boolean)} does. The default is
   * false.
   */
  /**
   * Checks, before the identity is acquired, that this output's destination can be written safely
   * (see {@link Destination#check()}); by default nothing to check.
   */
  default void check() {}

  default boolean rendersSshCertificate() {
    return false;
  }
}
