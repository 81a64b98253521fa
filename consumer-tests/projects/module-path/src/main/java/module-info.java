module consumer.modulepath {
  requires dev.machineid.core;
  requires dev.machineid.okhttp;
  requires dev.machineid.issuer;
  requires dev.machineid.outputs;
}
