/**
 * The output SPI: what the SDK renders on every issuance, and where ({@link
 * dev.machineid.core.output.Destination}). Core ships the {@code identity} output and the
 * {@code memory} destination; file and Kubernetes destinations live in {@code identity-outputs}.
 */
package dev.machineid.core.output;
