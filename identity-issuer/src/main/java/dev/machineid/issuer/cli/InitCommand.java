package dev.machineid.issuer.cli;

import dev.machineid.core.CaPin;
import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.config.IssuerConfig;
import dev.machineid.issuer.internal.admin.AdminCertificates;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import dev.machineid.issuer.internal.authority.KeyMaterial;
import dev.machineid.issuer.internal.authority.PurposeAuthorities;
import dev.machineid.issuer.internal.authority.SshAuthorities;
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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "init",
    description = {
      "Creates every authority key (0600), an admin identity and a default issuer.yaml in a directory.",
      "Copy the whole directory to each replica: they then serve one set of authorities.",
      "--upgrade adds the authorities a directory made by an older version lacks, and nothing else."
    })
final class InitCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--dir", description = "Directory to create (default: the working directory).")
  Path dir = Path.of("");

  @Option(
      names = "--trust-domain",
      defaultValue = "machineid.local",
      description = "SPIFFE trust domain (default: ${DEFAULT-VALUE}).")
  String trustDomain;

  @Option(
      names = "--listen",
      defaultValue = "127.0.0.1:8443",
      description = "HOST:PORT written to issuer.yaml (default: ${DEFAULT-VALUE}).")
  String listen;

  @Option(
      names = "--host-names",
      split = ",",
      description = "Names in the TLS certificate (default: localhost,127.0.0.1).")
  List<String> hostNames = List.of("localhost", "127.0.0.1");

  @Option(
      names = "--admin",
      defaultValue = "admin",
      description = "Admin identity name (default: ${DEFAULT-VALUE}).")
  String admin;

  @Option(
      names = "--admin-ttl",
      defaultValue = "12h",
      description = "Admin certificate lifetime, at most 24h (default: ${DEFAULT-VALUE}).")
  String adminTtl;

  @Option(
      names = "--upgrade",
      description =
          "In an existing directory, create only the authorities it lacks (then copy keys/ to every replica).")
  boolean upgrade;

  @Override
  public Integer call() throws IOException {
    Path config = dir.resolve(IssuerConfig.FILE_NAME);
    if (upgrade) {
      return upgrade(config);
    }
    if (Files.exists(config)) {
      throw new CliException(
          config.toAbsolutePath() + " exists; this directory is already initialised");
    }
    AdminIdentity.validateName(admin);
    Duration ttl = ServeCommand.duration(adminTtl, "--admin-ttl");
    Files.createDirectories(dir);
    Files.writeString(config, IssuerConfig.defaultYaml(trustDomain, listen, hostNames, admin));
    IssuerConfig c = IssuerConfig.load(config);
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now();
    KeyMaterial keys = KeyMaterial.loadOrCreate(c.keysDir(), trustDomain, now, random);
    // every authority now, not at the first serve: copies of this directory serve one set
    PurposeAuthorities.loadOrCreate(c.keysDir(), trustDomain, now, random);
    SshAuthorities.loadOrCreate(c.keysDir(), random);
    KeyPair kp = CertificateAuthority.newP256(random);
    X509Certificate cert = AdminCertificates.issue(
        keys.authority(), trustDomain, admin, kp.getPublic(), now, ttl, random);
    InitDirectory.writeAdmin(
        c.adminDir(), kp.getPrivate(), cert, keys.authority().certificate());
    var out = spec.commandLine().getOut();
    out.println("Initialised an issuer for trust domain " + trustDomain + " in "
        + dir.toAbsolutePath().normalize());
    out.println("  configuration:  " + config.toAbsolutePath().normalize());
    out.println("  authority keys: " + c.keysDir().normalize()
        + " (0600; back them up, they are the issuer's identity)");
    out.println("  admin identity: " + c.adminDir().normalize() + " (admin-" + admin
        + ", valid until " + cert.getNotAfter().toInstant() + ")");
    out.println("  CA pin:         " + CaPin.of(keys.authority().certificate()));
    out.println("Start it with: issuer serve -c " + config.toAbsolutePath().normalize());
    return 0;
  }

  /** Adds the purpose and SSH authorities an older version left to the first serve. */
  private int upgrade(Path config) {
    if (!Files.isRegularFile(config)) {
      throw new CliException(
          "no " + IssuerConfig.FILE_NAME + " in " + dir.toAbsolutePath().normalize()
              + "; --upgrade works on a directory 'issuer init' made");
    }
    IssuerConfig c = IssuerConfig.load(config);
    if (!Files.exists(c.keysDir().resolve(KeyMaterial.AUTHORITY_KEY))) {
      throw new CliException("no " + KeyMaterial.AUTHORITY_KEY + " in " + c.keysDir()
          + "; run --upgrade where the issuer's keys are");
    }
    SecureRandom random = new SecureRandom();
    Instant now = Instant.now();
    KeyMaterial.loadOrCreate(c.keysDir(), c.trustDomain(), now, random);
    List<String> missing = new java.util.ArrayList<>(PurposeAuthorities.missing(c.keysDir()));
    missing.addAll(SshAuthorities.missing(c.keysDir()));
    var out = spec.commandLine().getOut();
    if (missing.isEmpty()) {
      out.println("Every authority is present in " + c.keysDir().normalize() + "; nothing to do.");
      return 0;
    }
    PurposeAuthorities.loadOrCreate(c.keysDir(), c.trustDomain(), now, random);
    SshAuthorities.loadOrCreate(c.keysDir(), random);
    out.println("Created in " + c.keysDir().normalize() + ": " + String.join(", ", missing));
    out.println("Copy " + c.keysDir().normalize()
        + " to every replica before starting any of them, so all serve the same authorities.");
    return 0;
  }
}
