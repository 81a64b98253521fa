/**
 * The reference issuer of machine identities: {@link dev.machineid.issuer.Issuer} serves protocol v1
 * over HTTPS and offers the operator's admin API (bots, tokens, instances, locks, audit);
 * {@link dev.machineid.issuer.IssuerStore} is where its state lives.
 */
package dev.machineid.issuer;
