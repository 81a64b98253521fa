/**
 * The output SPI: what the SDK renders on every issuance, and where ({@link
 * dev.machineid.core.output.Destination}). Core ships {@link dev.machineid.core.output.IdentityOutput}
 * for code that adds outputs itself and the {@code memory} destination; the output kinds for config
 * ({@code type: identity} included) and the file and Kubernetes destinations live in
 * {@code identity-outputs}.
 */
package dev.machineid.core.output;
