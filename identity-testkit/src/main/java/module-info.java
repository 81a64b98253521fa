/** Test fixtures for users' own tests: an embedded issuer extension, TLS servers, a faulty proxy. */
module dev.machineid.testkit {
  requires transitive dev.machineid.core;
  requires transitive dev.machineid.issuer;
  requires transitive org.junit.jupiter.api;
  requires org.bouncycastle.provider;
  requires org.bouncycastle.pkix;

  exports dev.machineid.testkit;
}
