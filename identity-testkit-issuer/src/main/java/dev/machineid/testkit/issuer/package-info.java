/**
 * A JUnit 5 extension that runs an embedded issuer for a test class ({@link
 * dev.machineid.testkit.issuer.IssuerExtension}) and hands each test a registered bot with a join
 * token ({@link dev.machineid.testkit.issuer.TestBot}). The platform fixtures it works with (a test
 * certificate authority, clocks, simulated platforms, servers) are in {@code dev.machineid.testkit},
 * which depends on core only.
 */
package dev.machineid.testkit.issuer;
