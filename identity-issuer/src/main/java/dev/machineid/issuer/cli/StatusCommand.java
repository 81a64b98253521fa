package dev.machineid.issuer.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.internal.admin.AdminApi;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(
    name = "status",
    description =
        "Prints the version, trust domain and CA pin from the init directory (no server needed).")
final class StatusCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  IssuerCli.Common common;

  @Override
  public Integer call() {
    InitDirectory init = common.init();
    ObjectNode o = Protocol.nodes().objectNode();
    o.put("version", AdminApi.version());
    o.put("trust_domain", init.config.trustDomain());
    o.put("ca_pin", init.caPin().toString());
    o.put("issuer", init.server(common.server).toString());
    o.put("running", Files.exists(init.dir.resolve(InitDirectory.URL_FILE)));
    try {
      X509Certificate admin = init.adminCertificate();
      o.put("admin", InitDirectory.adminName(admin));
      o.put("admin_not_after", admin.getNotAfter().toInstant().toString());
    } catch (RuntimeException e) {
      o.putNull("admin");
    }
    var out = spec.commandLine().getOut();
    if (common.json()) {
      IssuerCli.printJson(out, o);
    } else {
      out.println("Version:       " + o.get("version").asText());
      out.println("Trust domain:  " + o.get("trust_domain").asText());
      out.println("CA pin:        " + o.get("ca_pin").asText());
      out.println("Issuer:        " + o.get("issuer").asText()
          + (o.get("running").asBoolean() ? " (serve running from this directory)" : ""));
      out.println("Admin:         "
          + (o.get("admin").isNull()
              ? "none"
              : o.get("admin").asText() + " until " + o.get("admin_not_after").asText()));
    }
    return 0;
  }
}
