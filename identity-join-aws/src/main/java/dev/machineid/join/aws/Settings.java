package dev.machineid.join.aws;

import dev.machineid.core.config.SettingsException;
import java.net.URI;
import java.time.Duration;
import java.util.Set;

/**
 * A join method's settings, read through the core settings view: the method's keys are declared, so
 * any other key is refused with its path and the nearest valid key; every failure names the key.
 */
final class Settings {
  private final String method;
  private final dev.machineid.core.config.Settings view;

  Settings(String method, dev.machineid.core.config.Settings view, Set<String> known) {
    this.method = method;
    this.view = view;
    view.declare(known.toArray(String[]::new));
  }

  String token() {
    if (!view.has("token")) {
      throw new SettingsException(
          view.pathOf("token"),
          "missing; join method '" + method
              + "' needs the name of the token resource that holds this bot's rules");
    }
    return view.string("token");
  }

  String text(String key) {
    return view.optionalString(key).orElse(null);
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
      throw new SettingsException(view.pathOf(key), "not a URL: " + s, e);
    }
    if (u.getScheme() == null || u.getHost() == null) {
      throw new SettingsException(view.pathOf(key), "must be an absolute http(s) URL, got " + s);
    }
    return u;
  }

  boolean bool(String key) {
    return view.bool(key, false);
  }

  Duration duration(String key) {
    return view.optionalDuration(key).orElse(null);
  }
}
