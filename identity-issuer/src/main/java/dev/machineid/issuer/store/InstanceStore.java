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

  List<InstanceRecord> instances(String botName);

  /**
   * Advances an instance's generation if it still is {@code expected} (compare-and-set), storing
   * the new key hash, credentials, serial and latest authentication.
   *
   * @return false if the stored generation was not {@code expected} (or no such instance)
   */
  boolean compareAndSetGeneration(
      String instanceId, long expected, long newGeneration, String newKeyHash, String credentialsJson, String serial, Authentication latest);

  /** @return false if there is no such instance */
  boolean updateHeartbeat(String instanceId, Heartbeat heartbeat);
}
