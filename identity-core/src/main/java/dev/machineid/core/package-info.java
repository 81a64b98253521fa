/**
 * The SDK's public API: {@link dev.machineid.core.MachineIdentity} joins an issuer, keeps a
 * short-lived {@link dev.machineid.core.Identity} renewed in-process and serves it to TLS clients.
 */
package dev.machineid.core;
