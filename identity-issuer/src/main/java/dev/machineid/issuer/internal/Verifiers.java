package dev.machineid.issuer.internal;

import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.VerifierContext;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds join verifiers: the explicit ones first, then every {@link JoinVerifierProvider} on the
 * SPI's own class loader. A provider that fails is reported on its own; two discovered providers
 * of one name are an error that names both; an explicit verifier wins over discovered ones.
 */
public final class Verifiers {
  private static final Logger LOG = LoggerFactory.getLogger(Verifiers.class);

  private Verifiers() {}

  public static Map<String, JoinVerifier> discover(VerifierContext context, List<JoinVerifier> explicit) {
    return discover(context, explicit, Map.of());
  }

  /** As {@link #discover(VerifierContext, List)}, giving each provider its method's settings. */
  public static Map<String, JoinVerifier> discover(VerifierContext context, List<JoinVerifier> explicit, Map<String, Map<String, Object>> settings) {
    Map<String, JoinVerifier> out = new LinkedHashMap<>();
    for (JoinVerifier v : explicit) {
      out.put(v.name(), v);
    }
    Map<String, String> discoveredBy = new LinkedHashMap<>();
    List<String> failures = new ArrayList<>();
    ServiceLoader<JoinVerifierProvider> loader = ServiceLoader.load(JoinVerifierProvider.class, JoinVerifierProvider.class.getClassLoader());
    Iterator<JoinVerifierProvider> it = loader.iterator();
    for (int guard = 0; guard < 1000; guard++) {
      JoinVerifierProvider provider;
      try {
        if (!it.hasNext()) {
          break;
        }
        provider = it.next();
      } catch (ServiceConfigurationError e) {
        failures.add(e.getMessage());
        LOG.warn("a join verifier provider could not be loaded and is skipped: {}", e.getMessage());
        continue;
      }
      String providerName = null;
      JoinVerifier verifier;
      try {
        providerName = provider.name();
        String name = providerName;
        verifier = provider.create(context.withSettings(settings.getOrDefault(name, Map.of())));
        if (verifier == null || !name.equals(verifier.name())) {
          throw new IllegalStateException("provider named '" + name + "' created a verifier named '" + (verifier == null ? null : verifier.name()) + "'");
        }
      } catch (RuntimeException | LinkageError e) {
        if (providerName != null && settings.containsKey(providerName)) {
          // the operator configured this method: a bad setting must not silently disable it
          throw new IllegalArgumentException("join method '" + providerName + "': " + e.getMessage(), e);
        }
        failures.add(provider.getClass().getName() + ": " + e);
        LOG.warn("join verifier provider {} failed and is skipped: {}", provider.getClass().getName(), e.toString());
        continue;
      }
      String name = providerName;
      if (explicit.stream().anyMatch(v -> v.name().equals(name))) {
        LOG.debug("join method '{}' from {} is replaced by an explicitly configured verifier", name, provider.getClass().getName());
        continue;
      }
      String previous = discoveredBy.putIfAbsent(name, provider.getClass().getName());
      if (previous != null) {
        throw new IllegalStateException(
            "two join verifier providers for method '" + name + "': " + previous + " and " + provider.getClass().getName()
                + "; remove one from the class path or pass the one to use to Issuer.Builder.verifier(...)");
      }
      out.put(name, verifier);
    }
    if (out.isEmpty()) {
      throw new IllegalStateException(
          "no join verifiers found (provider failures: " + failures + "); the identity-issuer jar provides 'token' through "
              + "META-INF/services/dev.machineid.issuer.join.JoinVerifierProvider, check that it is on the class or module path");
    }
    for (String method : settings.keySet()) {
      if (!out.containsKey(method)) {
        throw new IllegalArgumentException("verifier settings were given for join method '" + method + "', which no verifier provides; known: " + out.keySet());
      }
    }
    LOG.debug("join methods: {}", out.keySet());
    return Map.copyOf(out);
  }
}
