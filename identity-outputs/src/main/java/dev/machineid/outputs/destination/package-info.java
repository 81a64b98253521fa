/**
 * Where file outputs write: {@link dev.machineid.outputs.destination.DirectoryDestination} (a
 * directory updated as a whole through a {@code ..data} symlink swap) and
 * {@link dev.machineid.outputs.destination.KubernetesSecretDestination} (the keys of one Secret). The {@code memory}
 * destination lives in identity-core.
 */
package dev.machineid.outputs.destination;
