package dev.machineid.core.internal.spi;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceConfigurationError;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one {@link java.util.ServiceLoader} discovery routine of the project, used for join methods,
 * outputs and destinations (core) and join verifiers (issuer), with one policy:
 *
 * <ul>
 *   <li>each provider's failure (to load, to name itself, to be made) is isolated: it is recorded in
 *       {@link Found#failures()}, logged, and the others are still found;
 *   <li>a failure of a provider whose name the caller {@linkplain Request#configured configured} is an
 *       error: a bad setting must not silently disable what the user asked for;
 *   <li>two providers of one name are an error naming both classes;
 *   <li>an explicit object (given by the caller in code) wins over a discovered one of the same name;
 *   <li>an empty or incomplete result lists what failed ({@link Found#failures()}), for the caller's
 *       "not found" message.
 * </ul>
 *
 * <p>The caller passes the {@code ServiceLoader} it made itself, so that the {@code uses} clause is
 * checked against the caller's module (the issuer's services are not known to core). Exported only to
 * {@code dev.machineid.issuer}; not public API.
 */
public final class Discovery {
  private static final Logger LOG = LoggerFactory.getLogger(Discovery.class);

  private Discovery() {}

  /**
   * What to discover and how.
   *
   * @param what what one provider is, for messages, e.g. {@code "join method provider"}
   * @param providers the providers, usually {@code ServiceLoader.load(Service.class, Service.class.getClassLoader())}
   * @param nameOf a provider's name (its method's wire name, its config {@code type:})
   * @param create makes the discovered object from a provider and its name; for plain provider look-up
   *     {@code (name, p) -> p}
   * @param explicit objects given in code, by name; they win over discovered ones
   * @param configured names the user configured: a failure to make one of them is thrown, not skipped
   * @param duplicateHint what to do about two providers of one name, appended to the error
   */
  public record Request<P, T>(
      String what,
      Iterable<P> providers,
      Function<P, String> nameOf,
      BiFunction<String, P, T> create,
      Map<String, T> explicit,
      Set<String> configured,
      String duplicateHint) {
    public Request {
      Objects.requireNonNull(what, "what");
      Objects.requireNonNull(providers, "providers");
      Objects.requireNonNull(nameOf, "nameOf");
      Objects.requireNonNull(create, "create");
      explicit = Map.copyOf(Objects.requireNonNull(explicit, "explicit"));
      configured = Set.copyOf(Objects.requireNonNull(configured, "configured"));
      Objects.requireNonNull(duplicateHint, "duplicateHint");
    }

    /** Plain look-up of providers by name: nothing explicit, nothing configured. */
    public static <P> Request<P, P> providers(
        String what, Iterable<P> providers, Function<P, String> nameOf) {
      return new Request<>(
          what,
          providers,
          nameOf,
          (name, p) -> p,
          Map.of(),
          Set.of(),
          "remove one of them from the class path");
    }
  }

  /**
   * What was found.
   *
   * @param byName every object by name (explicit ones and discovered ones), sorted by name
   * @param failures one line per provider that failed and was skipped (its class and the error)
   */
  public record Found<T>(Map<String, T> byName, List<String> failures) {
    public Found {
      byName = java.util.Collections.unmodifiableMap(new TreeMap<>(byName));
      failures = List.copyOf(failures);
    }

    /** {@code "; providers that failed to load: [...]"}, or empty when none failed: for "not found" messages. */
    public String failureNote() {
      return failures.isEmpty() ? "" : "; providers that failed to load: " + failures;
    }
  }

  /** Raised for two providers of one name; the message names both classes. */
  public static final class DuplicateProviderException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    DuplicateProviderException(String message) {
      super(message);
    }
  }

  /**
   * Runs one discovery.
   *
   * @throws DuplicateProviderException if two providers have one name
   * @throws ConfiguredProviderException if a configured provider fails to make its object
   */
  public static <P, T> Found<T> discover(Request<P, T> r) {
    Map<String, T> out = new LinkedHashMap<>(r.explicit());
    Map<String, Class<?>> discoveredBy = new LinkedHashMap<>();
    List<String> failures = new ArrayList<>();
    Iterator<P> it = r.providers().iterator();
    // a broken iterator may throw on every call without advancing; the guard ends such a loop
    for (int guard = 0; guard < 10_000; guard++) {
      P provider;
      try {
        if (!it.hasNext()) {
          break;
        }
        provider = it.next();
      } catch (ServiceConfigurationError e) {
        failures.add(e.getMessage());
        LOG.warn("a {} could not be loaded and is skipped: {}", r.what(), e.getMessage());
        continue;
      }
      String name = null;
      T made;
      try {
        name = r.nameOf().apply(provider);
        if (name == null || name.isBlank()) {
          throw new IllegalStateException("it has no name");
        }
        made = r.create().apply(name, provider);
        if (made == null) {
          throw new IllegalStateException("it made nothing for '" + name + "'");
        }
      } catch (RuntimeException | LinkageError e) {
        if (name != null && r.configured().contains(name)) {
          throw new ConfiguredProviderException(name, e);
        }
        failures.add(provider.getClass().getName() + ": " + e);
        LOG.warn(
            "{} {} failed and is skipped: {}",
            r.what(),
            provider.getClass().getName(),
            e.toString());
        continue;
      }
      if (r.explicit().containsKey(name)) {
        LOG.debug(
            "'{}' from {} is replaced by an explicitly given one",
            name,
            provider.getClass().getName());
        continue;
      }
      Class<?> previous = discoveredBy.putIfAbsent(name, provider.getClass());
      if (previous != null) {
        if (previous == provider.getClass()) {
          continue; // the same provider listed twice (module path and META-INF/services): one
          // provider
        }
        throw new DuplicateProviderException(
            "two " + r.what() + "s for '" + name + "': " + previous.getName() + " and "
                + provider.getClass().getName() + "; " + r.duplicateHint());
      }
      out.put(name, made);
    }
    return new Found<>(out, failures);
  }

  /** A provider the user configured failed to make its object; the cause says why. */
  public static final class ConfiguredProviderException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String name;

    ConfiguredProviderException(String name, Throwable cause) {
      super(cause.getMessage(), cause);
      this.name = name;
    }

    /** The configured name whose provider failed. */
    public String name() {
      return name;
    }
  }
}
