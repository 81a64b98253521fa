package dev.machineid.issuer.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.ConfigException;
import dev.machineid.core.config.Settings;
import dev.machineid.core.internal.spi.Discovery;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.VerifierContext;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Collection;
import java.util.Iterator;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Errors of {@code issuer.yaml} in the file's own terms: one line naming the file, the key's path
 * ({@code join_methods.iam.sts_endpoints}) and the nearest valid key; values echoed as written
 * ({@code 48h}).
 */
final class ConfigKeys {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ConfigKeys() {}

  static ConfigException unknownKey(
      Path file, String parent, String key, Collection<String> known) {
    String path = parent.isEmpty() ? key : parent + "." + key;
    String nearest = nearest(key, known);
    String hint = nearest == null
        ? "; valid keys here: " + new java.util.TreeSet<>(known)
        : "; did you mean '" + (parent.isEmpty() ? nearest : parent + "." + nearest) + "'?";
    return new ConfigException(file + ": unknown key '" + path + "'" + hint);
  }

  /** A YAML syntax error or a duplicate key, with its line and column. */
  static ConfigException syntaxError(Path file, JsonProcessingException e) {
    JsonLocation at = e.getLocation();
    String where =
        at == null || at.getLineNr() < 1 ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr();
    String message =
        e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
    String first =
        message.lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst().orElse(message);
    if (first.startsWith("Duplicate field")) {
      first = "duplicate key "
          + first.substring("Duplicate field".length()).strip().replace('\'', '\'');
    }
    return new ConfigException(file + where + ": "
        + (first.startsWith("duplicate key") ? first : "YAML syntax error: " + first));
  }

  /** The keys of a mapping {@code block} (absent or null: nothing to check) must be in {@code known}. */
  static void checkBlock(Path file, String path, JsonNode block, Set<String> known) {
    if (block == null || block.isMissingNode() || block.isNull()) {
      return;
    }
    if (!block.isObject()) {
      throw new ConfigException(file + ": '" + path + "' must be a mapping, got " + block);
    }
    for (Iterator<String> it = block.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!known.contains(k)) {
        throw unknownKey(file, path, k, known);
      }
    }
  }

  /**
   * {@code join_methods}: each key a join method a verifier on the class path provides, each value a
   * mapping whose keys that verifier reads or declares on its settings view (found by making the
   * verifier once; a bad value is reported again, with its path, when the issuer is built).
   */
  static void checkJoinMethods(Path file, JsonNode methods) {
    if (methods == null || methods.isNull()) {
      return;
    }
    if (!methods.isObject()) {
      throw new ConfigException(
          file + ": 'join_methods' must map a join method to its settings, got " + methods);
    }
    Map<String, JoinVerifierProvider> providers;
    try {
      providers = Discovery.discover(Discovery.Request.providers(
              "join verifier provider",
              ServiceLoader.load(
                  JoinVerifierProvider.class, JoinVerifierProvider.class.getClassLoader()),
              JoinVerifierProvider::name))
          .byName();
    } catch (Discovery.DuplicateProviderException e) {
      throw new ConfigException(file + ": join_methods: " + e.getMessage(), e);
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = methods.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      JoinVerifierProvider provider = providers.get(e.getKey());
      if (provider == null) {
        throw unknownKey(file, "join_methods", e.getKey(), providers.keySet());
      }
      JsonNode settings = e.getValue();
      if (settings.isNull()) {
        continue;
      }
      if (!settings.isObject()) {
        throw new ConfigException(file + ": 'join_methods." + e.getKey()
            + "' must be a mapping of settings, got " + settings);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> values = JSON.convertValue(settings, Map.class);
      Settings view = Settings.of("join_methods." + e.getKey(), values);
      try {
        provider.create(
            new VerifierContext("config-check.invalid", Clock.systemUTC()).withSettings(view));
      } catch (RuntimeException | LinkageError failed) {
        continue; // a bad value: the issuer's build reports it with its path
      }
      checkBlock(file, "join_methods." + e.getKey(), settings, view.known());
    }
  }

  static double number(
      Path file, String path, JsonNode n, double fallback, double min, double max) {
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isNumber()) {
      throw new ConfigException(file + ": '" + path + "' must be a number, got " + n);
    }
    double v = n.doubleValue();
    if (v < min || v > max) {
      throw new ConfigException(
          file + ": '" + path + "' must be " + plain(min) + " to " + plain(max) + ", got " + n);
    }
    return v;
  }

  static void range(Path file, String key, Duration d, Duration min, Duration max) {
    if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
      throw new ConfigException(file + ": '" + key + "' must be " + GoDuration.format(min) + " to "
          + GoDuration.format(max) + ", got " + GoDuration.format(d));
    }
  }

  private static String plain(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  /** The known key closest by edit distance, or {@code null} when none is close. */
  static String nearest(String key, Collection<String> known) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String k : known) {
      int d = distance(key, k);
      if (k.contains(key) || key.contains(k)) {
        d = Math.min(d, Math.abs(k.length() - key.length()) / 2);
      }
      if (d < bestDistance || (d == bestDistance && best != null && k.compareTo(best) < 0)) {
        best = k;
        bestDistance = d;
      }
    }
    return best != null && bestDistance <= Math.max(3, key.length() / 2) ? best : null;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
