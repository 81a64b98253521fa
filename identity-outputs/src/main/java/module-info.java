/** Integrations: JDBC drivers, HTTP clients, Fabric8 and Vault; destinations and output formats. */
// Fabric8 ships no module name (its jar names are its module names): requiring it is deliberate.
@SuppressWarnings("requires-automatic")
module dev.machineid.outputs {
  requires transitive dev.machineid.core;
  requires transitive java.net.http;
  requires java.sql;
  requires org.slf4j;
  requires static org.postgresql.jdbc;
  requires static org.mariadb.jdbc;
  requires static kubernetes
      .client
      .api; // Fabric8 (7.x too) ships no module name: the jar name is the module name
  requires static kubernetes.model.core; // Secret, ObjectMeta (kubernetes_secret destination)

  exports dev.machineid.outputs.jdbc;
  exports dev.machineid.outputs.http;
  exports dev.machineid.outputs.kubernetes;
  exports dev.machineid.outputs.vault;
  exports dev.machineid.outputs.destination;
  exports dev.machineid.outputs.format;

  provides dev.machineid.core.output.DestinationProvider with
      dev.machineid.outputs.destination.DirectoryDestination.Provider,
      dev.machineid.outputs.destination.KubernetesSecretDestination.Provider;
  provides dev.machineid.core.output.OutputProvider with
      dev.machineid.outputs.format.OutputKinds.Identity,
      dev.machineid.outputs.format.OutputKinds.Application,
      dev.machineid.outputs.format.OutputKinds.SpiffeX509,
      dev.machineid.outputs.format.OutputKinds.SpiffeJwt,
      dev.machineid.outputs.format.OutputKinds.Database,
      dev.machineid.outputs.format.OutputKinds.Kubernetes,
      dev.machineid.outputs.format.OutputKinds.Ssh,
      dev.machineid.outputs.format.OutputKinds.SshHost;
// No `provides org.mariadb.jdbc.plugin.TlsSocketPlugin`: the driver is optional (requires static),
// and a
// module that provides a service whose module is absent does not resolve. The plugin is found
// through
// META-INF/services when the driver and this jar are on the class path (docs/integrations.md).
}
