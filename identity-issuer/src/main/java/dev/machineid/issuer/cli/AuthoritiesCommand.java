package dev.machineid.issuer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.internal.IoReasons;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code issuer authorities export --kind KIND}: the public certificates (or OpenSSH keys) of one
 * authority, as the running issuer serves them in {@code /v1/authority}, for configuring a target
 * to trust it (kube-apiserver {@code --client-ca-file}, PostgreSQL {@code ssl_ca_file}, sshd
 * {@code TrustedUserCAKeys}, {@code known_hosts} {@code @cert-authority}).
 */
@Command(
    name = "authorities",
    description = "Shows the issuer's authorities.",
    subcommands = {AuthoritiesCommand.Export.class})
final class AuthoritiesCommand {
  /** Kind name to the member of the authority document. */
  static final Map<String, String> KINDS = new LinkedHashMap<>();

  static {
    KINDS.put("issuer", "x509_authorities");
    KINDS.put("spiffe", "spiffe_authorities");
    KINDS.put("database_client", "database_client_authorities");
    KINDS.put("database_server", "database_server_authorities");
    KINDS.put("kubernetes_client", "kubernetes_client_authorities");
    KINDS.put("ssh_user", "ssh_user_authorities");
    KINDS.put("ssh_host", "ssh_host_authorities");
    KINDS.put("jwks", "jwks");
  }

  @Command(
      name = "export",
      description = {
        "Prints one authority as the running issuer serves it: PEM certificates for the X.509 kinds,",
        "authorized_keys lines for ssh_user and ssh_host, a JWK set for jwks.",
        "Kinds: issuer, spiffe, database_client, database_server, kubernetes_client, ssh_user, ssh_host, jwks."
      })
  static final class Export implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    IssuerCli.Common common;

    @Option(names = "--kind", required = true, description = "Which authority.")
    String kind;

    @Override
    public Integer call() {
      String member = KINDS.get(kind);
      if (member == null) {
        throw new CliException(
            "--kind must be one of " + String.join(", ", KINDS.keySet()) + ", got '" + kind + "'");
      }
      JsonNode doc = authorityDocument(common.init(), common.server);
      JsonNode value = doc.path(member);
      PrintWriter out = spec.commandLine().getOut();
      if (common.json() || "jwks".equals(kind)) {
        IssuerCli.printJson(out, value);
        return 0;
      }
      List<String> items = new ArrayList<>();
      value.forEach(v -> items.add(v.asText().strip()));
      if (items.isEmpty()) {
        throw new CliException("the issuer serves no " + kind + " authority");
      }
      for (String item : items) {
        out.println(item);
      }
      return 0;
    }
  }

  /** {@code GET /v1/authority}, over TLS verified against the init directory's authority certificate. */
  static JsonNode authorityDocument(InitDirectory init, String server) {
    var base = init.server(server);
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("issuer", init.authority());
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      HttpClient http = HttpClient.newBuilder()
          .sslContext(ctx)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
      HttpResponse<String> r = http.send(
          HttpRequest.newBuilder(base.resolve(Protocol.AUTHORITY_PATH))
              .timeout(Duration.ofSeconds(20))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new CliException("the issuer at " + base + " answered " + r.statusCode() + " for "
            + Protocol.AUTHORITY_PATH);
      }
      return Protocol.reader().readTree(r.body());
    } catch (IOException e) {
      throw new CliException("cannot read the authorities from the issuer at " + base + ": "
          + IoReasons.connection(base, e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException("interrupted while reading the authorities");
    } catch (GeneralSecurityException e) {
      throw new CliException("cannot set up TLS to the issuer: " + e.getMessage());
    }
  }
}
