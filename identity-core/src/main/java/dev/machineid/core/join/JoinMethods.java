package dev.machineid.core.join;

import dev.machineid.core.ConfigException;
import dev.machineid.core.config.Settings;
import dev.machineid.core.config.SettingsException;
import dev.machineid.core.internal.spi.Discovery;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/** Finds join methods on the class path or module path by name. */
public final class JoinMethods {
  /** Which module provides each method this project ships, for the "not found" message. */
  private static final Map<String, String> MODULES = Map.of(
      "token", "identity-core",
      "iam", "identity-join-aws",
      "ec2", "identity-join-aws",
      "gcp", "identity-join-gcp",
      "azure", "identity-join-azure",
      "kubernetes", "identity-join-k8s",
      "github", "identity-join-github",
      "gitlab", "identity-join-github",
      "circleci", "identity-join-github",
      "oidc", "identity-join-github");

  private JoinMethods() {}

  /**
   * Every provider that loads, by name. A provider that fails to load is logged and skipped.
   *
   * @throws ConfigException if two providers have one name (naming both classes)
   */
  public static Map<String, JoinMethodProvider> available() {
    return discover().byName();
  }

  private static Discovery.Found<JoinMethodProvider> discover() {
    try {
      return Discovery.discover(Discovery.Request.providers(
          "join method provider",
          ServiceLoader.load(JoinMethodProvider.class, JoinMethodProvider.class.getClassLoader()),
          JoinMethodProvider::name));
    } catch (Discovery.DuplicateProviderException e) {
      throw new ConfigException(e.getMessage(), e);
    }
  }

  /**
   * Makes the named method from its settings (as {@code MachineIdentity.builder().joinMethod(name,
   * settings)} does); a key the method does not take is refused with its name and the nearest one
   * it does take.
   *
   * @throws ConfigException if no provider has that name (listing those found and the module to
   *     add), or if the settings are invalid
   */
  public static JoinMethod create(String name, Map<String, ?> settings) {
    try {
      return create(name, Settings.of(settings));
    } catch (SettingsException e) {
      throw new ConfigException("join method '" + name + "': " + e.getMessage(), e);
    }
  }

  /**
   * Makes the named method from its block of a configuration; the errors name each key's full path.
   *
   * @throws SettingsException for an unknown, missing or bad setting, with its path
   * @throws ConfigException if no provider has that name (listing those found and the module to add)
   */
  public static JoinMethod create(String name, Settings settings) {
    Discovery.Found<JoinMethodProvider> discovered = discover();
    Map<String, JoinMethodProvider> found = discovered.byName();
    JoinMethodProvider p = found.get(name);
    if (p == null) {
      List<String> names = new ArrayList<>(found.keySet());
      String module = MODULES.get(name);
      String near = Settings.nearest(name, names);
      throw new ConfigException("unknown join method '" + name + "'"
          + (near != null ? "; did you mean '" + near + "'?" : "")
          + "; methods on the class path: " + names
          + (module != null
              ? "; add the dependency dev.machineid:" + module + " to use '" + name + "'"
              : "; check the spelling, or add the module that provides it")
          + discovered.failureNote());
    }
    JoinMethod method;
    try {
      method = p.create(settings);
    } catch (SettingsException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      if (settings.path().isEmpty()) {
        throw new ConfigException("join method '" + name + "': " + e.getMessage(), e);
      }
      throw new SettingsException(settings.path(), e.getMessage(), e);
    }
    settings.refuseUnknown();
    return method;
  }
}
