/** Test fixtures for users' own tests: an embedded issuer extension, TLS servers, a faulty proxy. */
module dev.machineid.testkit {
  requires transitive dev.machineid.core;
  requires transitive dev.machineid.issuer;
  requires transitive org.junit.jupiter.api;
  requires org.bouncycastle.provider;
  requires org.bouncycastle.pkix;
  requires java.sql; // PostgresServer.createDatabase
  requires jdk.httpserver; // the simulated AWS endpoints

  exports dev.machineid.testkit;
  exports dev.machineid.testkit.aws;
  exports dev.machineid.testkit.vault;
}
