/**
 * The join verifier SPI: each join method's server-side check. The issuer discovers
 * {@link dev.machineid.issuer.join.JoinVerifierProvider} implementations with
 * {@link java.util.ServiceLoader} (the SPI's own class loader); a verifier given to
 * {@code Issuer.Builder.verifier} wins over a discovered one of the same name.
 */
package dev.machineid.issuer.join;
