package dev.machineid.issuer.store;

import dev.machineid.issuer.Authentication;
import dev.machineid.issuer.Heartbeat;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.InstanceRecord;
import java.util.List;
import java.util.Optional;

/**
 * Bot instances: the one model of a joined instance ({@link IssuerStore.InstanceRecord}), its generation compare-and-set and its heartbeat. Part of {@link IssuerStore}.
 */
public interface InstanceStore {
  /** @return false if an instance with that id exists */
  boolean insertInstance(InstanceRecord instance);

  Optional<InstanceRecord> findInstance(String instanceId);

  /** The instances of a bot, oldest first. */
  List<InstanceRecord> instances(String botName);

  /**
   * The instances, of any bot, that joined with {@code attestedIdentity}, oldest first: read by the
   * identity (what a proof bound on first use checks on every join), not by listing every bot's
   * instances.
   */
  List<InstanceRecord> instancesWithIdentity(String attestedIdentity);

  /**
   * Advances an instance's generation if it still is {@code expected} (compare-and-set), storing
   * the new key hash, credentials, serial and latest authentication.
   *
   * @return false if the stored generation was not {@code expected} (or no such instance)
   */
  boolean compareAndSetGeneration(
      String instanceId,
      long expected,
      long newGeneration,
      String newKeyHash,
      String credentialsJson,
      String serial,
      Authentication latest);

  /** @return false if there is no such instance */
  boolean updateHeartbeat(String instanceId, Heartbeat heartbeat);
}
