package dev.machineid.core.config;

import dev.machineid.core.protocol.GoDuration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * One block of configuration (the whole file, an output, a destination, a join method's block), read
 * by key with typed accessors. Every accessor records the key as known; {@link #declare} records keys
 * a provider accepts without reading them. After the provider has made its object, the caller asks
 * {@link #refuseUnknown()}, which refuses the first key nobody read or declared, naming its full path
 * and the nearest known key:
 *
 * <pre>{@code outputs[1].destination.pth: unknown key; did you mean 'path'? (known: path, reader_group, reader_user, type)}</pre>
 *
 * <p>Every error is a {@link SettingsException} whose message starts with the key's path; values are
 * echoed as written ({@code 48h}, never {@code PT48H}). Not thread-safe: a view is read by one
 * provider at a time.
 */
public final class Settings {
  private final String path;
  private final Map<String, Object> values;
  private final Set<String> known = new LinkedHashSet<>();
  private final List<Settings> children = new ArrayList<>();

  private Settings(String path, Map<?, ?> values) {
    this.path = Objects.requireNonNull(path, "path");
    Map<String, Object> copy = new LinkedHashMap<>();
    Objects.requireNonNull(values, "values").forEach((k, v) -> copy.put(String.valueOf(k), v));
    this.values = Collections.unmodifiableMap(copy);
  }

  /** A view of {@code values} at the top of a configuration (keys are their own paths). */
  public static Settings of(Map<String, ?> values) {
    return new Settings("", values);
  }

  /** A view of {@code values} found at {@code path}, e.g. {@code outputs[1]}; errors name {@code path.key}. */
  public static Settings of(String path, Map<String, ?> values) {
    return new Settings(path, values);
  }

  /** This block's path, empty at the top. */
  public String path() {
    return path;
  }

  /** The full path of {@code key} in this block, e.g. {@code outputs[1].destination.path}. */
  public String pathOf(String key) {
    return path.isEmpty() ? key : path + "." + key;
  }

  /** The keys present in this block, in file order. */
  public Set<String> keys() {
    return values.keySet();
  }

  /**
   * The keys of this block read or {@linkplain #declare declared} so far: after a provider has made its
   * object, the keys it accepts.
   */
  public Set<String> known() {
    return Collections.unmodifiableSet(new java.util.TreeSet<>(known));
  }

  /** Whether {@code key} is present with a value; records it as known. */
  public boolean has(String key) {
    known.add(key);
    return values.get(key) != null;
  }

  /** Records keys this block accepts without reading them here (e.g. {@code type}, read by the caller). */
  public Settings declare(String... keys) {
    known.addAll(List.of(keys));
    return this;
  }

  /** A required single value as text. */
  public String string(String key) {
    return optionalString(key).orElseThrow(() -> missing(key, "a value"));
  }

  /** An optional single value as text; a blank value is refused. */
  public Optional<String> optionalString(String key) {
    Object v = raw(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof Map || v instanceof List) {
      throw new SettingsException(
          pathOf(key),
          "expected a single value, got " + (v instanceof Map ? "a mapping" : "a list"));
    }
    String s = v.toString().strip();
    if (s.isEmpty()) {
      throw new SettingsException(pathOf(key), "must not be empty");
    }
    return Optional.of(s);
  }

  /** {@code true} or {@code false}; {@code otherwise} when absent. */
  public boolean bool(String key, boolean otherwise) {
    Object v = raw(key);
    if (v == null) {
      return otherwise;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
      return Boolean.parseBoolean(s);
    }
    throw new SettingsException(pathOf(key), "expected true or false, got '" + v + "'");
  }

  /** A whole number; empty when absent. */
  public Optional<Long> optionalLong(String key) {
    Object v = raw(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof Integer || v instanceof Long || v instanceof Short) {
      return Optional.of(((Number) v).longValue());
    }
    try {
      return Optional.of(Long.parseLong(v.toString().strip()));
    } catch (NumberFormatException e) {
      throw new SettingsException(pathOf(key), "expected a whole number, got '" + v + "'", e);
    }
  }

  /** A required duration such as {@code 90s}, {@code 20m} or {@code 1h30m}. */
  public Duration duration(String key) {
    return optionalDuration(key).orElseThrow(() -> missing(key, "a duration such as 20m or 1h"));
  }

  /** An optional duration such as {@code 90s}, {@code 20m} or {@code 1h30m}. */
  public Optional<Duration> optionalDuration(String key) {
    Object v = raw(key);
    if (v == null) {
      return Optional.empty();
    }
    if (v instanceof Duration d) {
      return Optional.of(d);
    }
    String text = optionalString(key).orElseThrow();
    try {
      return Optional.of(GoDuration.parse(text));
    } catch (RuntimeException e) {
      throw new SettingsException(
          pathOf(key), "expected a duration such as 90s, 20m or 1h30m, got '" + text + "'", e);
    }
  }

  /** A list of single values (a lone value counts as a list of one); empty when absent. */
  public List<String> list(String key) {
    Object v = raw(key);
    if (v == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      for (int i = 0; i < l.size(); i++) {
        Object o = l.get(i);
        if (o == null || o instanceof Map || o instanceof List || o.toString().isBlank()) {
          throw new SettingsException(
              pathOf(key) + "[" + i + "]", "expected a single non-empty value");
        }
        out.add(o.toString().strip());
      }
    } else if (v instanceof Map) {
      throw new SettingsException(pathOf(key), "expected a list, got a mapping");
    } else {
      out.add(v.toString().strip());
    }
    return List.copyOf(out);
  }

  /** A required, non-empty list of single values. */
  public List<String> requiredList(String key) {
    List<String> l = list(key);
    if (l.isEmpty()) {
      if (values.get(key) == null) {
        throw missing(key, "a list");
      }
      throw new SettingsException(pathOf(key), "must not be empty");
    }
    return l;
  }

  /** A mapping of names to single values (e.g. labels); empty when absent. */
  public Map<String, String> stringMap(String key) {
    Object v = raw(key);
    if (v == null) {
      return Map.of();
    }
    if (!(v instanceof Map<?, ?> m)) {
      throw new SettingsException(pathOf(key), "expected a mapping of names to values");
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      Object x = e.getValue();
      if (x == null || x instanceof Map || x instanceof List) {
        throw new SettingsException(pathOf(key) + "." + e.getKey(), "expected a single value");
      }
      out.put(String.valueOf(e.getKey()), x.toString());
    }
    return Collections.unmodifiableMap(out);
  }

  /**
   * A nested block, whose own keys are checked by {@link #refuseUnknown()} of this view; empty when
   * absent.
   */
  public Settings block(String key) {
    return optionalBlock(key).orElseGet(() -> child(pathOf(key), Map.of()));
  }

  /** A nested block, or empty when absent. */
  public Optional<Settings> optionalBlock(String key) {
    Object v = raw(key);
    if (v == null) {
      return Optional.empty();
    }
    if (!(v instanceof Map<?, ?> m)) {
      throw new SettingsException(pathOf(key), "expected a mapping of settings, got '" + v + "'");
    }
    return Optional.of(child(pathOf(key), m));
  }

  /** A list of blocks, each with its index in its path ({@code outputs[0]}); empty when absent. */
  public List<Settings> blocks(String key) {
    Object v = raw(key);
    if (v == null) {
      return List.of();
    }
    if (!(v instanceof List<?> l)) {
      throw new SettingsException(pathOf(key), "expected a list of mappings");
    }
    List<Settings> out = new ArrayList<>();
    for (int i = 0; i < l.size(); i++) {
      if (!(l.get(i) instanceof Map<?, ?> m)) {
        throw new SettingsException(
            pathOf(key) + "[" + i + "]", "expected a mapping of settings, got '" + l.get(i) + "'");
      }
      out.add(child(pathOf(key) + "[" + i + "]", m));
    }
    return List.copyOf(out);
  }

  /** The value as parsed (String, Boolean, Number, List or Map), or {@code null}; records the key as known. */
  public Object raw(String key) {
    Objects.requireNonNull(key, "key");
    known.add(key);
    return values.get(key);
  }

  /**
   * Every value of this block as parsed, without recording any key as known: for fingerprints of a
   * block, never to accept keys.
   */
  public Map<String, Object> values() {
    return values;
  }

  /**
   * Every value of this block as a plain map, and every key recorded as known: for providers that
   * check their own keys (those written against the map-based SPI).
   */
  public Map<String, Object> asMap() {
    known.addAll(values.keySet());
    return values;
  }

  /**
   * Refuses the first key of this block, or of a block read from it, that no accessor read and no
   * {@link #declare} named.
   *
   * @throws SettingsException naming the key's full path and the nearest known key
   */
  public void refuseUnknown() {
    for (String k : values.keySet()) {
      if (!known.contains(k)) {
        throw unknown(k);
      }
    }
    for (Settings c : children) {
      c.refuseUnknown();
    }
  }

  /** The error for a required key that is absent; names a near-miss typo instead when there is one. */
  private SettingsException missing(String key, String what) {
    for (String k : values.keySet()) {
      if (!known.contains(k) && distance(k, key) <= maxDistance(key)) {
        return new SettingsException(pathOf(k), "unknown key; did you mean '" + key + "'?");
      }
    }
    return new SettingsException(pathOf(key), "missing; expected " + what);
  }

  private SettingsException unknown(String key) {
    Set<String> candidates = new TreeSet<>(known);
    String near = nearest(key, candidates);
    return new SettingsException(
        pathOf(key),
        "unknown key"
            + (near != null ? "; did you mean '" + near + "'?" : "")
            + (candidates.isEmpty()
                ? "; this block takes no settings"
                : " (known: " + String.join(", ", candidates) + ")"));
  }

  private Settings child(String childPath, Map<?, ?> m) {
    Settings c = new Settings(childPath, m);
    children.add(c);
    return c;
  }

  /** The candidate nearest to {@code key} by edit distance, if it is near enough to be a typo. */
  public static String nearest(String key, Collection<String> candidates) {
    String best = null;
    int bestDistance = Integer.MAX_VALUE;
    for (String c : candidates) {
      int d =
          distance(key.toLowerCase(java.util.Locale.ROOT), c.toLowerCase(java.util.Locale.ROOT));
      if (d < bestDistance) {
        best = c;
        bestDistance = d;
      }
    }
    return best != null && bestDistance <= maxDistance(best) ? best : null;
  }

  private static int maxDistance(String key) {
    return Math.max(1, Math.min(3, key.length() / 3));
  }

  /** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
  static int distance(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
        if (i > 1
            && j > 1
            && a.charAt(i - 1) == b.charAt(j - 2)
            && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }

  @Override
  public String toString() {
    // keys only: values may be secrets (a join token)
    return "Settings[" + (path.isEmpty() ? "<top>" : path) + " " + values.keySet() + "]";
  }
}
