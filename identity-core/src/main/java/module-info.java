/** Machine identity SDK core: public API, join SPI, renewal engine, issuer client, hot-rotating TLS. */
// "module": the qualified exports name modules (issuer, outputs, testkit) that are built after core
@SuppressWarnings("module")
module dev.machineid.core {
  requires transitive com.fasterxml.jackson.databind;
  requires com.fasterxml.jackson.datatype.jsr310;
  requires com.fasterxml.jackson.dataformat.yaml;
  requires java.net.http;
  requires org.slf4j;

  exports dev.machineid.core;
  exports dev.machineid.core.config;
  exports dev.machineid.core.join;
  exports dev.machineid.core.output;
  exports dev.machineid.core.storage;
  exports dev.machineid.core.tls;
  // the wire model of protocol v1: for the issuer (the other side of the wire), the outputs (PEM
  // and
  // OpenSSH encodings) and the testkit's fake issuer; not public API
  exports dev.machineid.core.protocol to
      dev.machineid.issuer,
      dev.machineid.outputs,
      dev.machineid.testkit;
  // the one ServiceLoader discovery routine, shared with the issuer's verifier discovery; not
  // public API
  exports dev.machineid.core.internal.spi to
      dev.machineid.issuer;

  opens dev.machineid.core.protocol to
      com.fasterxml.jackson.databind;
  opens dev.machineid.core.storage to
      com.fasterxml.jackson.databind;

  uses dev.machineid.core.join.JoinMethodProvider;
  uses dev.machineid.core.output.OutputProvider;
  uses dev.machineid.core.output.DestinationProvider;

  provides dev.machineid.core.join.JoinMethodProvider with
      dev.machineid.core.join.TokenJoinMethod.Provider;
  provides dev.machineid.core.output.DestinationProvider with
      dev.machineid.core.output.DestinationProvider.Memory;
}
