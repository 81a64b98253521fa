/**
 * Test fixtures for code that uses machine identities.
 *
 * <ul>
 *   <li>{@link dev.machineid.testkit.TestCertificateAuthority}: an in-memory EC P-256 CA that
 *       issues server and client certificates.</li>
 *   <li>{@link dev.machineid.testkit.MtlsServer}: an HTTPS server on {@code 127.0.0.1} that
 *       requires client certificates and records which ones it saw.</li>
 *   <li>{@link dev.machineid.testkit.FakeIssuer}: a scriptable protocol v1 issuer over TLS that
 *       returns the bad answers a client must refuse.</li>
 *   <li>{@link dev.machineid.testkit.ManualScheduler}: a scheduler driven by a
 *       {@link dev.machineid.testkit.MutableClock}.</li>
 *   <li>{@link dev.machineid.testkit.FaultyProxy}: a TCP proxy that passes TLS through and can
 *       refuse connections or lose responses on demand.</li>
 * </ul>
 *
 * <p>Every fixture is {@link java.lang.AutoCloseable}, with an idempotent {@code close()}, and
 * uses only daemon threads named {@code machineid-testkit-<fixture>-<n>}.
 */
package dev.machineid.testkit;
