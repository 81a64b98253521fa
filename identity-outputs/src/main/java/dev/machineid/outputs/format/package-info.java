/**
 * File outputs in tbot's layouts ({@code identity}, {@code application}, {@code database}, {@code kubernetes},
 * {@code ssh}, {@code ssh_host}, {@code spiffe-x509}, {@code spiffe-jwt}), found through
 * {@link dev.machineid.core.output.OutputProvider} by their config {@code type:}.
 */
package dev.machineid.outputs.format;
