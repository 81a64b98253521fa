package dev.machineid.issuer.internal.join;

import dev.machineid.core.config.Settings;
import dev.machineid.core.config.SettingsException;
import dev.machineid.core.internal.spi.Discovery;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.VerifierContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds join verifiers with the project's one discovery routine ({@link Discovery}): the explicit
 * ones first, then every {@link JoinVerifierProvider} on the SPI's own class loader. A provider that
 * fails is reported on its own; two discovered providers of one name are an error that names both;
 * an explicit verifier wins over discovered ones; a configured method whose provider fails is an
 * error. Each provider reads its settings through the settings view at {@code join_methods.<name>};
 * a key it did not read or declare is refused with that path.
 */
public final class Verifiers {
  private static final Logger LOG = LoggerFactory.getLogger(Verifiers.class);

  private Verifiers() {}

  public static Map<String, JoinVerifier> discover(
      VerifierContext context, List<JoinVerifier> explicit) {
    return discover(context, explicit, Map.of());
  }

  /** As {@link #discover(VerifierContext, List)}, giving each provider its method's settings. */
  public static Map<String, JoinVerifier> discover(
      VerifierContext context,
      List<JoinVerifier> explicit,
      Map<String, Map<String, Object>> settings) {
    return discover(
        ServiceLoader.load(JoinVerifierProvider.class, JoinVerifierProvider.class.getClassLoader()),
        context,
        explicit,
        settings);
  }

  /** As {@link #discover(VerifierContext, List, Map)} over the given providers. */
  static Map<String, JoinVerifier> discover(
      Iterable<JoinVerifierProvider> providers,
      VerifierContext context,
      List<JoinVerifier> explicit,
      Map<String, Map<String, Object>> settings) {
    Map<String, JoinVerifier> given = new LinkedHashMap<>();
    for (JoinVerifier v : explicit) {
      given.put(v.name(), v);
    }
    Discovery.Found<JoinVerifier> found;
    try {
      found = Discovery.discover(new Discovery.Request<>(
          "join verifier provider",
          providers,
          JoinVerifierProvider::name,
          (name, provider) ->
              create(provider, name, context, settings.getOrDefault(name, Map.of())),
          given,
          settings.keySet(),
          "remove one from the class path or pass the one to use to Issuer.Builder.verifier(...)"));
    } catch (Discovery.ConfiguredProviderException e) {
      // the operator configured this method: a bad setting must not silently disable it
      throw new IllegalArgumentException(
          "join method '" + e.name() + "': " + e.getMessage(), e.getCause());
    }
    Map<String, JoinVerifier> out = found.byName();
    if (out.isEmpty()) {
      throw new IllegalStateException(
          "no join verifiers found (provider failures: " + found.failures()
              + "); the identity-issuer jar provides 'token' through "
              + "META-INF/services/dev.machineid.issuer.join.JoinVerifierProvider, check that it is on the class or module path");
    }
    for (String method : settings.keySet()) {
      if (!out.containsKey(method)) {
        throw new IllegalArgumentException("verifier settings were given for join method '" + method
            + "', which no verifier provides; known: " + out.keySet() + found.failureNote());
      }
    }
    LOG.debug("join methods: {}", out.keySet());
    return out;
  }

  /**
   * Makes one verifier from its provider, its settings read through the view at {@code
   * join_methods.<name>}; refuses keys the provider did not read or declare.
   *
   * @throws SettingsException for an unknown or bad setting, naming its path
   */
  public static JoinVerifier create(
      JoinVerifierProvider provider,
      String name,
      VerifierContext context,
      Map<String, Object> methodSettings) {
    Settings view = Settings.of("join_methods." + name, methodSettings);
    JoinVerifier verifier = provider.create(context.withSettings(view));
    if (verifier == null || !name.equals(verifier.name())) {
      throw new IllegalStateException("provider named '" + name + "' created a verifier named '"
          + (verifier == null ? null : verifier.name()) + "'");
    }
    view.refuseUnknown();
    return verifier;
  }
}
