package dev.machineid.issuer.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.core.ConfigException;
import dev.machineid.core.protocol.GoDuration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code issuer.yaml}, the configuration of {@code issuer serve}. Relative paths are resolved
 * against the file's directory. Every key is documented in {@code docs/issuer.md}.
 *
 * @param baseDir the directory of the file
 * @param trustDomain SPIFFE trust domain
 * @param listenHost listen address
 * @param listenPort listen port (0: ephemeral)
 * @param hostNames names and addresses in the issuer's TLS certificate
 * @param keysDir authority and MAC keys (0600 files)
 * @param store JDBC URL of the store, or {@code null} for the default (in memory)
 * @param storeUser database user, or {@code null}
 * @param storePasswordEnv the environment variable holding the database password, or {@code null}
 * @param admins admin names recorded at start
 * @param adminDir where {@code init} wrote the admin key and certificate
 * @param defaultTtl bot certificate TTL when none is asked
 * @param maxTtl the largest bot certificate TTL
 * @param signMaxTtl the longest lifetime of a certificate signed by {@code issuer sign}
 * @param maxRequestBytes largest request body
 * @param idleTimeout connection idle and blocked read/write timeout
 * @param requestTimeout overall time limit of a request (handshake and first request head; reading and answering each request)
 * @param shutdownGrace time given to requests in flight at shutdown
 * @param trustedProxies the load balancers (IP addresses, CIDR networks) whose connections start
 *     with a PROXY protocol header; empty: no PROXY header is accepted
 * @param rateLimitPerSecond calls per second per client address, on every endpoint (0: none)
 * @param rateLimitBurst bucket size of that limit
 * @param cryptoProvider {@code jdk}, {@code bouncycastle} or {@code accp}
 * @param joinMethods per-method verifier settings
 * @param storePoolWait how long a call waits for a store connection before it is answered {@code unavailable}
 */
public record IssuerConfig(
    Path baseDir,
    String trustDomain,
    String listenHost,
    int listenPort,
    List<String> hostNames,
    Path keysDir,
    String store,
    String storeUser,
    String storePasswordEnv,
    List<String> admins,
    Path adminDir,
    Duration defaultTtl,
    Duration maxTtl,
    Duration signMaxTtl,
    int maxRequestBytes,
    Duration idleTimeout,
    Duration requestTimeout,
    Duration shutdownGrace,
    List<String> trustedProxies,
    double rateLimitPerSecond,
    int rateLimitBurst,
    String cryptoProvider,
    Map<String, Map<String, Object>> joinMethods,
    Duration storePoolWait) {

  public static final String FILE_NAME = "issuer.yaml";
  // duplicate keys are an error, not "the last one wins"
  private static final ObjectMapper YAML = new ObjectMapper(
      YAMLFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());
  private static final Set<String> KEYS = Set.of(
      "version",
      "trust_domain",
      "listen",
      "host_names",
      "keys_dir",
      "store",
      "store_user",
      "store_password_env",
      "admins",
      "admin_dir",
      "default_ttl",
      "max_ttl",
      "sign_max_ttl",
      "max_request_bytes",
      "idle_timeout",
      "request_timeout",
      "shutdown_grace",
      "proxy_protocol",
      "rate_limit",
      "crypto_provider",
      "join_methods",
      "store_pool_wait");

  public IssuerConfig {
    Objects.requireNonNull(baseDir, "baseDir");
    hostNames = List.copyOf(hostNames);
    admins = List.copyOf(admins);
    trustedProxies = List.copyOf(trustedProxies);
    joinMethods = Map.copyOf(joinMethods);
  }

  /**
   * Reads and checks a file.
   *
   * @throws ConfigException naming the file and the key for anything missing, unknown or invalid
   */
  public static IssuerConfig load(Path file) {
    JsonNode root;
    try {
      root = YAML.readTree(Files.readString(file));
    } catch (JsonProcessingException e) {
      throw ConfigKeys.syntaxError(file, e);
    } catch (IOException e) {
      throw new ConfigException("cannot read " + file + ": " + firstLine(e.getMessage()));
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException(file + " must be a YAML mapping (see docs/issuer.md)");
    }
    ObjectNode o = (ObjectNode) root;
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!KEYS.contains(k)) {
        throw ConfigKeys.unknownKey(file, "", k, KEYS);
      }
    }
    Path base = file.toAbsolutePath().getParent();
    String listen = text(o, "listen", "127.0.0.1:8443", file);
    int colon = listen.lastIndexOf(':');
    if (colon <= 0) {
      throw new ConfigException(file + ": listen must be HOST:PORT, got '" + listen + "'");
    }
    int port;
    try {
      port = Integer.parseInt(listen.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(file + ": listen must be HOST:PORT, got '" + listen + "'");
    }
    String host = listen.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    JsonNode rl = o.path("rate_limit");
    ConfigKeys.checkBlock(file, "rate_limit", rl, Set.of("per_second", "burst"));
    double perSecond =
        ConfigKeys.number(file, "rate_limit.per_second", rl.get("per_second"), 20, 0, 1_000_000);
    int burst =
        (int) ConfigKeys.number(file, "rate_limit.burst", rl.get("burst"), 40, 1, 1_000_000);
    ConfigKeys.checkJoinMethods(file, o.get("join_methods"));
    Map<String, Map<String, Object>> methods = new LinkedHashMap<>();
    JsonNode jm = o.get("join_methods");
    if (jm != null && !jm.isNull()) {
      if (!jm.isObject()) {
        throw new ConfigException(file + ": join_methods must map a join method to its settings");
      }
      jm.fields().forEachRemaining(e -> {
        @SuppressWarnings("unchecked")
        Map<String, Object> m = e.getValue().isObject()
            ? YAML.convertValue(e.getValue(), LinkedHashMap.class)
            : Map.of();
        methods.put(e.getKey(), m);
      });
    }
    String store = text(o, "store", null, file);
    store = store == null ? null : resolveStore(store, base);
    return new IssuerConfig(
            base,
            text(o, "trust_domain", "machineid.local", file),
            host,
            port,
            strings(o, "host_names", List.of("localhost", "127.0.0.1"), file),
            base.resolve(text(o, "keys_dir", "keys", file)),
            store == null || store.isBlank() ? null : store,
            text(o, "store_user", null, file),
            text(o, "store_password_env", null, file),
            strings(o, "admins", List.of("admin"), file),
            base.resolve(text(o, "admin_dir", "admin", file)),
            duration(o, "default_ttl", "1h", file),
            duration(o, "max_ttl", "24h", file),
            duration(o, "sign_max_ttl", "2160h", file),
            (int) ConfigKeys.number(
                file,
                "max_request_bytes",
                o.get("max_request_bytes"),
                64 * 1024,
                1024,
                16 * 1024 * 1024),
            duration(o, "idle_timeout", "30s", file),
            duration(o, "request_timeout", "10s", file),
            duration(o, "shutdown_grace", "5s", file),
            trustedProxies(o, file),
            perSecond,
            burst,
            text(o, "crypto_provider", "jdk", file),
            methods,
            duration(o, "store_pool_wait", "2s", file))
        .checked(file);
  }

  // ---- values in the file's own terms, checked before anything is built

  private IssuerConfig checked(Path file) {
    ConfigKeys.range(file, "max_ttl", maxTtl, Duration.ofSeconds(1), Duration.ofHours(24));
    ConfigKeys.range(file, "default_ttl", defaultTtl, Duration.ofSeconds(1), maxTtl);
    ConfigKeys.range(file, "idle_timeout", idleTimeout, Duration.ofSeconds(1), Duration.ofHours(1));
    ConfigKeys.range(
        file, "request_timeout", requestTimeout, Duration.ofSeconds(1), Duration.ofMinutes(5));
    ConfigKeys.range(file, "shutdown_grace", shutdownGrace, Duration.ZERO, Duration.ofMinutes(1));
    ConfigKeys.range(
        file, "store_pool_wait", storePoolWait, Duration.ofMillis(250), Duration.ofMinutes(1));
    if (listenPort < 0 || listenPort > 65535) {
      throw new ConfigException(file + ": listen port must be 0 to 65535, got " + listenPort);
    }
    return this;
  }

  /**
   * An H2 file URL with a relative path ({@code jdbc:h2:file:./data/issuer}) made absolute
   * against {@code base}, so the store does not depend on the working directory; other URLs
   * unchanged.
   */
  public static String resolveStore(String url, Path base) {
    if (!url.regionMatches(true, 0, "jdbc:h2:", 0, 8)) {
      return url;
    }
    String rest = url.substring(8);
    String prefix = "jdbc:h2:";
    if (rest.regionMatches(true, 0, "file:", 0, 5)) {
      prefix += rest.substring(0, 5);
      rest = rest.substring(5);
    } else if (rest.toLowerCase(java.util.Locale.ROOT).matches("^[a-z0-9]{2,}:.*")) {
      return url; // mem:, tcp:, ssl:, zip:, …
    }
    int semi = rest.indexOf(';');
    String path = semi < 0 ? rest : rest.substring(0, semi);
    String options = semi < 0 ? "" : rest.substring(semi);
    if (path.isEmpty() || path.startsWith("~") || Path.of(path).isAbsolute()) {
      return url;
    }
    return prefix + base.resolve(path).normalize() + options;
  }

  /** The file {@code issuer init} writes. */
  public static String defaultYaml(
      String trustDomain, String listen, List<String> hostNames, String admin) {
    return """
        # issuer.yaml: configuration of 'issuer serve' (every key: docs/issuer.md)
        version: v1
        trust_domain: %s
        # HOST:PORT to bind; 'issuer serve --listen' overrides it
        listen: %s
        # names and addresses in the issuer's TLS certificate; clients must reach it by one of them
        host_names: [%s]
        # authority key and certificate, challenge MAC key (0600 files); relative to this file
        keys_dir: keys
        # JDBC URL of the store: empty keeps state in memory (lost at exit); one node:
        # jdbc:h2:file:./data/issuer (relative to this file); replicas: jdbc:postgresql://db.internal/issuer
        # 'issuer serve --store' overrides it
        store: ""
        store_user: ""
        # name of the environment variable that holds the database password
        store_password_env: ISSUER_STORE_PASSWORD
        # how long a call waits for a database connection before it is answered 503 unavailable
        store_pool_wait: 2s
        # admin identities allowed on /v1/admin (their key and certificate are in admin_dir)
        admins: [%s]
        admin_dir: admin
        # bot certificate TTLs
        default_ttl: 1h
        max_ttl: 24h
        # longest lifetime of database server and SSH host certificates from 'issuer sign' (at most 9528h, 397 days)
        sign_max_ttl: 2160h
        # hardening
        max_request_bytes: 65536
        idle_timeout: 30s
        request_timeout: 10s
        shutdown_grace: 5s
        # behind TCP load balancers that send the PROXY protocol: their addresses or networks, e.g.
        # proxy_protocol: {trusted_proxies: [10.0.0.0/8]}; only they may send a PROXY header
        proxy_protocol: false
        # calls per second per client address, on every endpoint
        rate_limit: {per_second: 20, burst: 40}
        # jdk (default), bouncycastle, or accp (Amazon Corretto Crypto Provider, linux-x86_64)
        crypto_provider: jdk
        # per-join-method verifier settings, e.g. iam: {additional_sts_endpoints: [...]}
        join_methods: {}
        """
        .formatted(trustDomain, listen, String.join(", ", hostNames), admin);
  }

  /**
   * {@code proxy_protocol}: {@code false} (or absent) for none, or {@code {trusted_proxies: [...]}}.
   * {@code true} is refused: it used to accept a PROXY header from any client, which lets a client
   * that connects directly claim any address.
   */
  private static List<String> trustedProxies(ObjectNode o, Path file) {
    JsonNode n = o.get("proxy_protocol");
    if (n == null || n.isNull() || (n.isBoolean() && !n.booleanValue())) {
      return List.of();
    }
    String instead =
        "write proxy_protocol: {trusted_proxies: [<the balancers' addresses or networks, e.g. 10.0.0.0/8>]} (see docs/issuer.md)";
    if (n.isBoolean()) {
      throw new ConfigException(file
          + ": 'proxy_protocol: true' would accept a PROXY header from any client, which could then claim any address; "
          + instead);
    }
    if (!n.isObject()) {
      throw new ConfigException(file + ": 'proxy_protocol' must be false or a mapping; " + instead);
    }
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!k.equals("trusted_proxies")) {
        throw new ConfigException(
            file + ": unknown key 'proxy_protocol." + k + "'; known keys: [trusted_proxies]");
      }
    }
    JsonNode list = n.get("trusted_proxies");
    if (list == null || !list.isArray() || list.isEmpty()) {
      throw new ConfigException(
          file + ": 'proxy_protocol.trusted_proxies' must be a non-empty list; " + instead);
    }
    List<String> out = new ArrayList<>();
    for (JsonNode e : list) {
      if (!e.isTextual()) {
        throw new ConfigException(file
            + ": 'proxy_protocol.trusted_proxies' must hold IP addresses or CIDR networks as strings, got "
            + e);
      }
      out.add(e.textValue());
    }
    try {
      dev.machineid.issuer.internal.http.TrustedProxies.of(out);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(file + ": proxy_protocol.trusted_proxies: " + e.getMessage());
    }
    return out;
  }

  private static String text(ObjectNode o, String key, String fallback, Path file) {
    JsonNode n = o.get(key);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isValueNode()) {
      throw new ConfigException(file + ": " + key + " must be a single value");
    }
    String s = n.asText();
    return s.isEmpty() && fallback == null ? null : s;
  }

  private static List<String> strings(ObjectNode o, String key, List<String> fallback, Path file) {
    JsonNode n = o.get(key);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isArray() || n.isEmpty()) {
      throw new ConfigException(file + ": " + key + " must be a non-empty list");
    }
    List<String> out = new ArrayList<>();
    n.forEach(e -> out.add(e.asText()));
    return out;
  }

  private static Duration duration(ObjectNode o, String key, String fallback, Path file) {
    String s = text(o, key, fallback, file);
    try {
      return GoDuration.parse(s);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(
          file + ": " + key + " must be a duration such as 30s, 15m or 1h, got '" + s + "'");
    }
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }
}
