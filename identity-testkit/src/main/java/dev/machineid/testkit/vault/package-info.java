/**
 * A simulated HashiCorp Vault for tests: {@link dev.machineid.testkit.vault.VaultSimulator} speaks
 * the TLS certificate auth method ({@code POST /v1/auth/cert/login}) and token
 * {@code lookup-self} over HTTPS on 127.0.0.1, so Vault clients can be tested with a real machine
 * identity and no Vault binary.
 */
package dev.machineid.testkit.vault;
