package dev.machineid.issuer.cli;

import dev.machineid.core.protocol.GoDuration;
import dev.machineid.issuer.Admins;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.config.IssuerConfig;
import dev.machineid.issuer.internal.authority.CryptoProviders;
import dev.machineid.issuer.internal.authority.KeyMaterial;
import dev.machineid.issuer.internal.authority.PurposeAuthorities;
import dev.machineid.issuer.internal.authority.SshAuthorities;
import dev.machineid.issuer.store.JdbcStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "serve",
    description = {
      "Runs the issuer from issuer.yaml until stopped (SIGTERM: finishes requests in flight, up to shutdown_grace).",
      "Refuses an empty store when keys/ shows this issuer has served before (pass --new-store to start afresh),",
      "a store recorded for another authority, and a keys directory that lacks an authority (run 'issuer init --upgrade')."
    })
final class ServeCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  @Spec
  CommandSpec spec;

  @Option(
      names = {"-c", "--config"},
      defaultValue = "issuer.yaml",
      description = "The configuration file (default: ${DEFAULT-VALUE}).")
  Path config;

  @Option(
      names = "--listen",
      description = "HOST:PORT to bind, overriding the file (so replicas can share one file).")
  String listen;

  @Option(
      names = "--store",
      description =
          "JDBC URL of the store, overriding the file (a relative H2 path is relative to the working directory).")
  String store;

  @Option(
      names = "--new-store",
      description =
          "Start on an empty store although keys/ shows this issuer has served before (every bot, token and instance of the old store is gone).")
  boolean newStore;

  @Override
  public Integer call() throws Exception {
    if (!Files.isRegularFile(config)) {
      throw new CliException("no configuration file " + config.toAbsolutePath()
          + "; run 'issuer init --dir DIR' and pass -c DIR/issuer.yaml");
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
    String storeUrl =
        store != null ? IssuerConfig.resolveStore(store, Path.of("").toAbsolutePath()) : c.store();
    List<String> missing = new ArrayList<>(PurposeAuthorities.missing(c.keysDir()));
    missing.addAll(SshAuthorities.missing(c.keysDir()));
    boolean keysExist = Files.exists(c.keysDir().resolve(KeyMaterial.AUTHORITY_KEY));
    if (!keysExist) {
      throw new CliException("no authority in " + c.keysDir() + " (" + KeyMaterial.AUTHORITY_KEY
          + "); run 'issuer init --dir DIR' once and copy that directory to every replica");
    }
    if (!missing.isEmpty()) {
      // creating them here would give each replica its own authorities
      throw new CliException("the keys directory " + c.keysDir() + " lacks "
          + String.join(", ", missing) + "; run 'issuer init --upgrade --dir " + c.baseDir()
          + "' once, then copy " + c.keysDir() + " to every replica");
    }
    Issuer.Builder b = Issuer.builder()
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
    JdbcStore jdbc = null;
    if (storeUrl != null) {
      String password = c.storePasswordEnv() == null ? null : System.getenv(c.storePasswordEnv());
      jdbc = JdbcStore.builder(storeUrl)
          .credentials(c.storeUser(), password)
          .poolWait(c.storePoolWait())
          .build();
      b.store(jdbc);
    } else {
      LOG.warn(
          "no store configured: bots, tokens and instances are kept in memory and lost when serve stops");
    }
    applyJoinMethods(b, c.joinMethods());
    Issuer issuer;
    try {
      issuer = b.build();
      if (jdbc != null) {
        checkStore(jdbc, c, storeUrl, issuer.caPin().toString());
      }
    } catch (RuntimeException e) {
      if (jdbc != null) {
        jdbc.close();
      }
      throw e;
    }
    JdbcStore ownStore = jdbc;
    CountDownLatch stopped = new CountDownLatch(1);
    Path urlFile = c.baseDir().resolve(InitDirectory.URL_FILE);
    Thread hook = new Thread(
        () -> {
          LOG.info(
              "shutting down: finishing requests in flight (up to {})",
              GoDuration.format(c.shutdownGrace()));
          close(issuer, ownStore, urlFile);
          stopped.countDown();
        },
        "machineid-issuer-shutdown");
    try {
      issuer.start();
      // the store's admins follow the configuration: names removed from 'admins:' are refused from
      // now on
      Admins.Changes admins = issuer.admins().sync(c.admins());
      if (!admins.added().isEmpty() || !admins.removed().isEmpty()) {
        LOG.info("admins from {}: added {}, removed {}", config, admins.added(), admins.removed());
      }
      try {
        InitDirectory.writePublic(urlFile, issuer.url() + "\n");
      } catch (IOException e) {
        LOG.warn(
            "cannot write {} ({}); admin commands will use the address in issuer.yaml",
            urlFile,
            e.toString());
      }
      Runtime.getRuntime().addShutdownHook(hook);
      var out = spec.commandLine().getOut();
      out.println("issuer " + issuer.url() + " trust domain " + c.trustDomain() + " CA pin "
          + issuer.caPin() + " crypto " + provider + " store "
          + (storeUrl == null ? "memory" : redact(storeUrl)));
      out.flush();
      stopped.await();
    } catch (InterruptedException e) {
      // an in-process stop (tests): close as the shutdown hook would
      Thread.currentThread().interrupt();
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
        close(issuer, ownStore, urlFile);
      } catch (IllegalStateException e) {
        // the JVM is shutting down; the hook closes the issuer
      }
    }
    return 0;
  }

  /**
   * The store must belong to these keys: one recorded for another authority is refused; an empty
   * one is refused when the keys directory shows this issuer served before (a store URL pointing
   * at the wrong place would otherwise start afresh and every agent would get
   * {@code unauthenticated}), unless {@code --new-store}. Then the store and the keys directory
   * record that this authority serves from it.
   */
  private void checkStore(JdbcStore jdbc, IssuerConfig c, String storeUrl, String caPin) {
    Optional<String> recorded = jdbc.servedCaPin();
    if (recorded.isPresent() && !recorded.get().equals(caPin)) {
      throw new CliException(
          "the store " + redact(storeUrl) + " belongs to the issuer with CA pin " + recorded.get()
              + ", but " + c.keysDir() + " holds the authority " + caPin
              + "; point --store (or store:) at this issuer's database, or keys_dir at that issuer's keys");
    }
    String marker = KeyMaterial.servedMarker(c.keysDir());
    if (recorded.isEmpty() && marker != null && !newStore) {
      throw new CliException("the store " + redact(storeUrl) + " is empty, but " + c.keysDir()
          + " shows this issuer has served before (" + marker
          + "); starting would lose every bot, token and instance. Point --store (or store: in "
          + c.baseDir().resolve(IssuerConfig.FILE_NAME)
          + ") at that database, or pass --new-store to start with an empty one");
    }
    Instant now = Instant.now();
    String first = jdbc.recordServed(caPin, now);
    if (!first.equals(caPin)) {
      throw new CliException("the store " + redact(storeUrl)
          + " was just claimed by the issuer with CA pin " + first + ", not " + caPin);
    }
    if (recorded.isEmpty() && marker != null) {
      LOG.warn(
          "--new-store: serving from the empty store {}; the state of the store this issuer served from before is not here",
          redact(storeUrl));
    }
    KeyMaterial.markServed(c.keysDir(), caPin + " " + now + " " + redact(storeUrl));
  }

  private static void close(Issuer issuer, JdbcStore store, Path urlFile) {
    issuer.close();
    if (store != null) {
      store.close();
    }
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
