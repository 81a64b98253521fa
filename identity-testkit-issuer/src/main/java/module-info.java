/** The embedded-issuer extension of the testkit: {@code IssuerExtension} and {@code TestBot}, above the issuer. */
module dev.machineid.testkit.issuer {
  requires transitive dev.machineid.core;
  requires transitive dev.machineid.issuer;
  requires transitive dev.machineid.testkit;
  requires transitive org.junit.jupiter.api;

  exports dev.machineid.testkit.issuer;
}
