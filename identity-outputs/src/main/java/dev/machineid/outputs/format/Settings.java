package dev.machineid.outputs.format;

import dev.machineid.core.protocol.GoDuration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** An output's config block, read with messages that name the key. */
final class Settings {
  static final Set<String> COMMON = Set.of("type", "destination", "roles", "ttl", "reload", "name");
  private final String type;
  private final Map<String, Object> map;

  Settings(String type, Map<String, Object> map, Set<String> own) {
    this.type = type;
    this.map = map == null ? Map.of() : map;
    for (String k : this.map.keySet()) {
      if (!COMMON.contains(k) && !own.contains(k)) {
        Set<String> all = new TreeSet<>(COMMON);
        all.addAll(own);
        throw new IllegalArgumentException(k + ": unknown setting for a " + type + " output; it takes " + all);
      }
    }
  }

  boolean has(String key) {
    return map.containsKey(key);
  }

  String string(String key, boolean required) {
    Object v = map.get(key);
    if (v == null) {
      if (required) {
        throw new IllegalArgumentException(key + ": missing; a " + type + " output needs it");
      }
      return null;
    }
    if (v instanceof Map || v instanceof List) {
      throw new IllegalArgumentException(key + ": expected a single value");
    }
    String s = v.toString();
    if (s.isBlank()) {
      throw new IllegalArgumentException(key + ": must not be empty");
    }
    return s;
  }

  List<String> list(String key, boolean required) {
    Object v = map.get(key);
    if (v == null) {
      if (required) {
        throw new IllegalArgumentException(key + ": missing; a " + type + " output needs a list here");
      }
      return List.of();
    }
    List<String> out = new ArrayList<>();
    if (v instanceof List<?> l) {
      for (Object o : l) {
        if (o == null || o instanceof Map || o instanceof List || o.toString().isBlank()) {
          throw new IllegalArgumentException(key + ": expected a list of names");
        }
        out.add(o.toString());
      }
    } else {
      out.add(v.toString());
    }
    if (required && out.isEmpty()) {
      throw new IllegalArgumentException(key + ": must not be empty");
    }
    return List.copyOf(out);
  }

  boolean bool(String key) {
    Object v = map.get(key);
    if (v == null) {
      return false;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    throw new IllegalArgumentException(key + ": expected true or false");
  }

  Duration ttl() {
    String t = string("ttl", false);
    if (t == null) {
      return null;
    }
    try {
      return GoDuration.parse(t);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("ttl: " + e.getMessage());
    }
  }

  ReloadHook reload() {
    String r = string("reload", false);
    return r == null ? null : ReloadHook.of(r);
  }
}
