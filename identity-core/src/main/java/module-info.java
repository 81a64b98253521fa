/** Machine identity SDK core: public API, join SPI, renewal engine, issuer client, hot-rotating TLS. */
module dev.machineid.core {
  requires transitive com.fasterxml.jackson.databind;
  requires com.fasterxml.jackson.datatype.jsr310;
  requires com.fasterxml.jackson.dataformat.yaml;
  requires okhttp3;
  requires org.slf4j;

  exports dev.machineid.core;
  exports dev.machineid.core.protocol;

  opens dev.machineid.core.protocol to com.fasterxml.jackson.databind;
}
