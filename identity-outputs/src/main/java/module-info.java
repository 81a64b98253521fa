/** Integrations: JDBC drivers, HTTP clients, Fabric8 and Vault; destinations and output formats. */
module dev.machineid.outputs {
  requires transitive dev.machineid.core;
  requires transitive java.net.http;
  requires java.sql;
  requires org.slf4j;
  requires static org.postgresql.jdbc;
  requires static org.mariadb.jdbc;
  requires static kubernetes.client.api; // Fabric8 6 ships no module name: the jar name is the module name

  exports dev.machineid.outputs.jdbc;
  exports dev.machineid.outputs.http;
  exports dev.machineid.outputs.kubernetes;
  exports dev.machineid.outputs.vault;

  provides org.mariadb.jdbc.plugin.TlsSocketPlugin with dev.machineid.outputs.jdbc.MariaDbTlsPlugin;
}
