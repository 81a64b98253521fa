package dev.machineid.outputs.destination;

import dev.machineid.core.output.Destination;

/**
 * A destination shared with other writers (a Kubernetes Secret) that records which output owns what
 * it writes, so that two outputs pointed at it refuse each other instead of overwriting each other.
 * The output providers of this module call {@link #forOutput} with the output's identity.
 */
public interface OutputOwnedDestination extends Destination {
  /**
   * This destination, owned by the output {@code outputId} (unless an owner was set explicitly).
   *
   * @throws IllegalArgumentException if the identity is not a usable name
   */
  Destination forOutput(String outputId);
}
