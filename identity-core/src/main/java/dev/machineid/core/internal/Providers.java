package dev.machineid.core.internal;

import java.util.Iterator;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** ServiceLoader discovery with the API's own class loader; a provider that fails is reported and skipped. */
public final class Providers {
  private static final Logger LOG = LoggerFactory.getLogger(Providers.class);

  private Providers() {}

  public static <T> Map<String, T> load(Class<T> service, Function<T, String> key) {
    Map<String, T> found = new TreeMap<>();
    Iterator<T> it = ServiceLoader.load(service, service.getClassLoader()).iterator();
    while (true) {
      try {
        if (!it.hasNext()) {
          break;
        }
        T p = it.next();
        T previous = found.putIfAbsent(key.apply(p), p);
        if (previous != null && previous.getClass() != p.getClass()) {
          LOG.warn("two {} for '{}': {} and {}; using the first", service.getSimpleName(), key.apply(p),
              previous.getClass().getName(), p.getClass().getName());
        }
      } catch (ServiceConfigurationError e) {
        LOG.warn("a {} failed to load and is skipped: {}", service.getSimpleName(), e.getMessage());
      }
    }
    return found;
  }
}
