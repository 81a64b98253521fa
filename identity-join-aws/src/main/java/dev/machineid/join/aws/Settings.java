package dev.machineid.join.aws;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Set;

/** Reads and checks join settings maps; every failure names the setting. */
final class Settings {
  private final String method;
  private final Map<String, Object> values;

  Settings(String method, Map<String, Object> values, Set<String> known) {
    this.method = method;
    this.values = values;
    for (String k : values.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("unknown setting '" + k + "' for join method '" + method + "'; known settings: " + known);
      }
    }
  }

  String token() {
    Object t = values.get("token");
    if (!(t instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException(
          "join method '" + method + "' needs the setting 'token': the name of the token resource that holds this bot's rules");
    }
    return s.trim();
  }

  String text(String key) {
    Object v = values.get(key);
    if (v == null) {
      return null;
    }
    if (!(v instanceof String s) || s.isBlank()) {
      throw new IllegalArgumentException("setting '" + key + "' of join method '" + method + "' must be a non-empty string");
    }
    return s.trim();
  }

  URI uri(String key) {
    String s = text(key);
    if (s == null) {
      return null;
    }
    URI u;
    try {
      u = URI.create(s);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("setting '" + key + "' of join method '" + method + "' is not a URL: " + s);
    }
    if (u.getScheme() == null || u.getHost() == null) {
      throw new IllegalArgumentException("setting '" + key + "' of join method '" + method + "' must be an absolute http(s) URL, got " + s);
    }
    return u;
  }

  boolean bool(String key) {
    Object v = values.get(key);
    if (v == null) {
      return false;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    if (v instanceof String s && (s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false"))) {
      return Boolean.parseBoolean(s);
    }
    throw new IllegalArgumentException("setting '" + key + "' of join method '" + method + "' must be true or false, got " + v);
  }

  Duration duration(String key) {
    Object v = values.get(key);
    if (v == null) {
      return null;
    }
    if (v instanceof Duration d) {
      return d;
    }
    try {
      return dev.machineid.core.protocol.GoDuration.parse(String.valueOf(v));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("setting '" + key + "' of join method '" + method + "' must be a duration like 5s, got " + v);
    }
  }
}
