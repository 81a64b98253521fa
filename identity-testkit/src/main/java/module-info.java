/**
 * Test fixtures for users' own tests and the project's: a certificate authority, clocks and a scheduler, TLS servers,
 * a faulty proxy, simulated platforms. Depends on core only; the embedded-issuer extension is in
 * {@code dev.machineid.testkit.issuer} (artifact identity-testkit-issuer).
 */
module dev.machineid.testkit {
  requires transitive dev.machineid.core;
  requires transitive org.junit.jupiter.api;
  requires org.bouncycastle.provider;
  requires org.bouncycastle.pkix;
  requires java.sql; // PostgresServer.createDatabase
  requires jdk.httpserver; // SimulatorServer: the simulated AWS endpoints and Vault
  requires transitive java.net.http; // ProtocolClient

  exports dev.machineid.testkit;
  exports dev.machineid.testkit.aws;
  exports dev.machineid.testkit.http;
  exports dev.machineid.testkit.vault;
}
