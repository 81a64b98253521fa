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
    try {
      return required ? view.string(key) : view.optionalString(key).orElse(null);
    } catch (SettingsException e) {
      throw forThisKind(e, key);
    }
  }

  List<String> list(String key, boolean required) {
    try {
      return required ? view.requiredList(key) : view.list(key);
    } catch (SettingsException e) {
      throw forThisKind(e, key);
    }
  }

  /** A missing key's error says which kind needs it; a near-miss typo's error stays as the view made it. */
  private SettingsException forThisKind(SettingsException e, String key) {
    if (e.path().equals(view.pathOf(key))
        && e.getMessage().endsWith(": missing; expected a value")) {
      return new SettingsException(e.path(), "missing; a " + type + " output needs it");
    }
    if (e.path().equals(view.pathOf(key))
        && e.getMessage().endsWith(": missing; expected a list")) {
      return new SettingsException(e.path(), "missing; a " + type + " output needs a list here");
    }
    return e;
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
