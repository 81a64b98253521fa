package dev.machineid.issuer.cli;

import dev.machineid.core.protocol.GoDuration;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.config.IssuerConfig;
import dev.machineid.issuer.internal.CryptoProviders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", description = "Runs the issuer from issuer.yaml until stopped (SIGTERM: finishes requests in flight, up to shutdown_grace).")
final class ServeCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  @Spec CommandSpec spec;

  @Option(names = {"-c", "--config"}, defaultValue = "issuer.yaml", description = "The configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(names = "--listen", description = "HOST:PORT to bind, overriding the file (so replicas can share one file).")
  String listen;

  @Option(names = "--store", description = "JDBC URL of the store, overriding the file.")
  String store;

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(config)) {
      throw new CliException("no configuration file " + config.toAbsolutePath() + "; run 'issuer init --dir DIR' and pass -c DIR/issuer.yaml");
    }
    IssuerConfig c = IssuerConfig.load(config);
    String provider;
    try {
      provider = CryptoProviders.install(c.cryptoProvider());
    } catch (IllegalArgumentException e) {
      throw new CliException(config + ": " + e.getMessage());
    }
    String host = c.listenHost();
    int port = c.listenPort();
    if (listen != null) {
      int colon = listen.lastIndexOf(':');
      try {
        host = listen.substring(0, colon).replace("[", "").replace("]", "");
        port = Integer.parseInt(listen.substring(colon + 1));
      } catch (RuntimeException e) {
        throw new CliException("--listen must be HOST:PORT, got '" + listen + "'");
      }
    }
    String storeUrl = store != null ? store : c.store();
    Issuer.Builder b =
        Issuer.builder()
            .trustDomain(c.trustDomain())
            .listen(host, port)
            .hostNames(c.hostNames())
            .keysDirectory(c.keysDir())
            .defaultTtl(c.defaultTtl())
            .maxTtl(c.maxTtl())
            .signMaxTtl(c.signMaxTtl())
            .maxRequestBytes(c.maxRequestBytes())
            .idleTimeout(c.idleTimeout())
            .requestTimeout(c.requestTimeout())
            .shutdownGrace(c.shutdownGrace());
    if (!c.trustedProxies().isEmpty()) {
      b.proxyProtocol(c.trustedProxies());
    }
    if (c.rateLimitPerSecond() > 0) {
      b.rateLimit(c.rateLimitPerSecond(), Math.max(1, c.rateLimitBurst()));
    }
    if (storeUrl != null) {
      String password = c.storePasswordEnv() == null ? null : System.getenv(c.storePasswordEnv());
      b.store(IssuerStore.jdbc(storeUrl, c.storeUser(), password));
    }
    applyJoinMethods(b, c.joinMethods());
    Issuer issuer = b.build();
    CountDownLatch stopped = new CountDownLatch(1);
    Path urlFile = c.baseDir().resolve(InitDirectory.URL_FILE);
    Thread hook =
        new Thread(
            () -> {
              LOG.info("shutting down: finishing requests in flight (up to {})", GoDuration.format(c.shutdownGrace()));
              close(issuer, urlFile);
              stopped.countDown();
            },
            "machineid-issuer-shutdown");
    try {
      issuer.start();
      // the store's admins follow the configuration: names removed from 'admins:' are refused from now on
      Issuer.AdminChanges admins = issuer.syncAdmins(c.admins());
      if (!admins.added().isEmpty() || !admins.removed().isEmpty()) {
        LOG.info("admins from {}: added {}, removed {}", config, admins.added(), admins.removed());
      }
      try {
        InitDirectory.writePublic(urlFile, issuer.url() + "\n");
      } catch (IOException e) {
        LOG.warn("cannot write {} ({}); admin commands will use the address in issuer.yaml", urlFile, e.toString());
      }
      Runtime.getRuntime().addShutdownHook(hook);
      var out = spec.commandLine().getOut();
      out.println("issuer " + issuer.url() + " trust domain " + c.trustDomain() + " CA pin " + issuer.caPin() + " crypto " + provider
          + " store " + (storeUrl == null ? "memory" : redact(storeUrl)));
      out.flush();
      stopped.await();
    } catch (InterruptedException e) {
      // an in-process stop (tests): close as the shutdown hook would
      Thread.currentThread().interrupt();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
        close(issuer, urlFile);
      } catch (IllegalStateException e) {
        // the JVM is shutting down; the hook closes the issuer
      }
    }
    return 0;
  }

  private static void close(Issuer issuer, Path urlFile) {
    issuer.close();
    try {
      Files.deleteIfExists(urlFile);
    } catch (IOException e) {
      LOG.debug("cannot remove {}: {}", urlFile, e.toString());
    }
  }

  /** Passes {@code join_methods:} to {@link Issuer.Builder#verifierSettings}. */
  private static void applyJoinMethods(Issuer.Builder b, Map<String, Map<String, Object>> methods) {
    for (Map.Entry<String, Map<String, Object>> e : methods.entrySet()) {
      try {
        b.verifierSettings(e.getKey(), e.getValue());
      } catch (IllegalArgumentException | IllegalStateException ex) {
        throw new CliException("join_methods." + e.getKey() + ": " + ex.getMessage());
      }
    }
  }

  static String redact(String jdbcUrl) {
    return jdbcUrl.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  static Duration duration(String s, String option) {
    try {
      return GoDuration.parse(s);
    } catch (IllegalArgumentException e) {
      throw new CliException(option + " must be a duration such as 30m or 12h, got '" + s + "'");
    }
  }
}
