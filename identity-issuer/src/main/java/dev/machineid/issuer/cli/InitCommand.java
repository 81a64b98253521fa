package dev.machineid.issuer.cli;

import dev.machineid.core.CaPin;
import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.config.IssuerConfig;
import dev.machineid.issuer.internal.AdminCertificates;
import dev.machineid.issuer.internal.CertificateAuthority;
import dev.machineid.issuer.internal.KeyMaterial;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "init", description = "Creates the authority keys (0600), an admin identity and a default issuer.yaml in a directory.")
final class InitCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--dir", description = "Directory to create (default: the working directory).")
  Path dir = Path.of("");

  @Option(names = "--trust-domain", defaultValue = "machineid.local", description = "SPIFFE trust domain (default: ${DEFAULT-VALUE}).")
  String trustDomain;

  @Option(names = "--listen", defaultValue = "127.0.0.1:8443", description = "HOST:PORT written to issuer.yaml (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(names = "--host-names", split = ",", description = "Names in the TLS certificate (default: localhost,127.0.0.1).")
  List<String> hostNames = List.of("localhost", "127.0.0.1");

  @Option(names = "--admin", defaultValue = "admin", description = "Admin identity name (default: ${DEFAULT-VALUE}).")
  String admin;

  @Option(names = "--admin-ttl", defaultValue = "12h", description = "Admin certificate lifetime, at most 24h (default: ${DEFAULT-VALUE}).")
  String adminTtl;

  @Override
  public Integer call() throws IOException {
    Path config = dir.resolve(IssuerConfig.FILE_NAME);
    if (Files.exists(config)) {
      throw new CliException(config.toAbsolutePath() + " exists; this directory is already initialised");
    }
    AdminIdentity.validateName(admin);
    Duration ttl = ServeCommand.duration(adminTtl, "--admin-ttl");
    Files.createDirectories(dir);
    Files.writeString(config, IssuerConfig.defaultYaml(trustDomain, listen, hostNames, admin));
    IssuerConfig c = IssuerConfig.load(config);
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now();
    KeyMaterial keys = KeyMaterial.loadOrCreate(c.keysDir(), trustDomain, now, random);
    KeyPair kp = CertificateAuthority.newP256(random);
    X509Certificate cert = AdminCertificates.issue(keys.authority(), trustDomain, admin, kp.getPublic(), now, ttl, random);
    InitDirectory.writeAdmin(c.adminDir(), kp.getPrivate(), cert, keys.authority().certificate());
    var out = spec.commandLine().getOut();
    out.println("Initialised an issuer for trust domain " + trustDomain + " in " + dir.toAbsolutePath().normalize());
    out.println("  configuration:  " + config.toAbsolutePath().normalize());
    out.println("  authority keys: " + c.keysDir().normalize() + " (0600; back them up, they are the issuer's identity)");
    out.println("  admin identity: " + c.adminDir().normalize() + " (admin-" + admin + ", valid until " + cert.getNotAfter().toInstant() + ")");
    out.println("  CA pin:         " + CaPin.of(keys.authority().certificate()));
    out.println("Start it with: issuer serve -c " + config.toAbsolutePath().normalize());
    return 0;
  }
}
