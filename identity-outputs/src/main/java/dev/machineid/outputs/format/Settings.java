package dev.machineid.outputs.format;

import dev.machineid.core.config.SettingsException;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * An output's config block, read through the core settings view: the keys common to outputs and the
 * kind's own are declared, so any other key is refused with its path and the nearest valid key.
 */
final class Settings {
  static final Set<String> COMMON = Set.of("type", "destination", "roles", "ttl", "reload", "name");
  private final String type;
  private final dev.machineid.core.config.Settings view;

  Settings(String type, dev.machineid.core.config.Settings view, Set<String> own) {
    this.type = type;
    this.view = view;
    view.declare(COMMON.toArray(String[]::new));
    view.declare(own.toArray(String[]::new));
  }

  /** The full path of {@code key}, for errors. */
  String pathOf(String key) {
    return view.pathOf(key);
  }

  boolean has(String key) {
    return view.has(key);
  }

  String string(String key, boolean required) {
    if (required && !view.has(key)) {
      throw new SettingsException(view.pathOf(key), "missing; a " + type + " output needs it");
    }
    return view.optionalString(key).orElse(null);
  }

  List<String> list(String key, boolean required) {
    if (required && !view.has(key)) {
      throw new SettingsException(view.pathOf(key), "missing; a " + type + " output needs a list here");
    }
    return required ? view.requiredList(key) : view.list(key);
  }

  boolean bool(String key) {
    return view.bool(key, false);
  }

  Duration ttl() {
    return view.optionalDuration("ttl").orElse(null);
  }

  ReloadHook reload() {
    String r = string("reload", false);
    return r == null ? null : ReloadHook.of(r);
  }
}
