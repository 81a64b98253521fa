package dev.machineid.core.internal.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.join.JoinMethodProvider;
import dev.machineid.core.join.TokenJoinMethod;
import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.ServiceConfigurationError;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiscoveryTest {
  /** A second provider of the {@code token} method, as a jar on the class path might bring. */
  public static final class SecondToken implements JoinMethodProvider {
    @Override
    public String name() {
      return "token";
    }

    @Override
    public JoinMethod create(Map<String, Object> settings) {
      throw new UnsupportedOperationException("never made");
    }
  }

  /** A provider whose name fails. */
  public static final class Broken implements JoinMethodProvider {
    @Override
    public String name() {
      throw new IllegalStateException("broken on purpose");
    }
  }

  @Test
  void aSecondProviderOfAnExistingJoinMethodFailsDiscoveryNamingBothClasses(@TempDir Path dir)
      throws Exception {
    Throwable thrown = callIsolated(
        dir,
        JoinMethodProvider.class,
        SecondToken.class,
        "dev.machineid.core.join.JoinMethods",
        "available");
    assertThat(thrown.getClass().getName()).isEqualTo("dev.machineid.core.ConfigException");
    assertThat(thrown.getMessage())
        .contains("two join method providers for 'token'")
        .contains(TokenJoinMethod.Provider.class.getName())
        .contains(SecondToken.class.getName());
  }

  @Test
  void aProviderThatFailsIsReportedAndTheOthersAreStillFound() {
    Discovery.Found<JoinMethodProvider> found = Discovery.discover(Discovery.Request.providers(
        "join method provider",
        List.of(new Broken(), new TokenJoinMethod.Provider()),
        JoinMethodProvider::name));
    assertThat(found.byName()).containsOnlyKeys("token");
    assertThat(found.failures())
        .singleElement()
        .asString()
        .contains(Broken.class.getName())
        .contains("broken on purpose");
    assertThat(found.failureNote())
        .contains("providers that failed to load")
        .contains(Broken.class.getName());
  }

  @Test
  void aProviderThatCannotBeLoadedIsReportedAndTheOthersAreStillFound() {
    Iterable<JoinMethodProvider> loader = () -> new Iterator<>() {
      private final List<Object> items = new ArrayList<>(List.of(
          new ServiceConfigurationError("x.Missing not found"), new TokenJoinMethod.Provider()));

      @Override
      public boolean hasNext() {
        return !items.isEmpty();
      }

      @Override
      public JoinMethodProvider next() {
        if (items.isEmpty()) {
          throw new NoSuchElementException();
        }
        Object o = items.remove(0);
        if (o instanceof ServiceConfigurationError e) {
          throw e;
        }
        return (JoinMethodProvider) o;
      }
    };
    Discovery.Found<JoinMethodProvider> found = Discovery.discover(
        Discovery.Request.providers("join method provider", loader, JoinMethodProvider::name));
    assertThat(found.byName()).containsOnlyKeys("token");
    assertThat(found.failures()).containsExactly("x.Missing not found");
  }

  @Test
  void anExplicitObjectWinsOverADiscoveredOneOfTheSameName() {
    JoinMethodProvider explicit = new SecondToken();
    Discovery.Found<JoinMethodProvider> found =
        Discovery.discover(new Discovery.Request<JoinMethodProvider, JoinMethodProvider>(
            "join method provider",
            List.of(new TokenJoinMethod.Provider()),
            JoinMethodProvider::name,
            (n, p) -> p,
            Map.of("token", explicit),
            Set.of(),
            "hint"));
    assertThat(found.byName().get("token")).isSameAs(explicit);
  }

  @Test
  void aConfiguredProviderThatFailsIsAnErrorNotASkip() {
    Discovery.Request<JoinMethodProvider, JoinMethod> request = new Discovery.Request<>(
        "join method provider",
        List.of(new TokenJoinMethod.Provider()),
        JoinMethodProvider::name,
        (n, p) -> p.create(Map.of()),
        Map.of(),
        Set.of("token"),
        "hint");
    assertThatThrownBy(() -> Discovery.discover(request))
        .isInstanceOf(Discovery.ConfiguredProviderException.class)
        .satisfies(
            e -> assertThat(((Discovery.ConfiguredProviderException) e).name()).isEqualTo("token"))
        .hasMessageContaining("token");
  }

  @Test
  void twoProvidersOfOneNameAreAnErrorNamingBoth() {
    assertThatThrownBy(() -> Discovery.discover(Discovery.Request.providers(
            "join method provider",
            List.of(new TokenJoinMethod.Provider(), new SecondToken()),
            JoinMethodProvider::name)))
        .isInstanceOf(Discovery.DuplicateProviderException.class)
        .hasMessageContaining(TokenJoinMethod.Provider.class.getName())
        .hasMessageContaining(SecondToken.class.getName());
  }

  /**
   * Calls a static method of the SDK in a class loader of its own that sees this test's class path
   * plus one extra {@code META-INF/services} entry, so the SDK's own discovery (with the API's class
   * loader) finds the extra provider; returns what the call threw.
   */
  static Throwable callIsolated(
      Path dir, Class<?> service, Class<?> extra, String className, String method)
      throws Exception {
    Path services = Files.createDirectories(dir.resolve("META-INF/services"));
    Files.writeString(services.resolve(service.getName()), extra.getName() + "\n");
    List<URL> urls = new ArrayList<>();
    urls.add(dir.toUri().toURL());
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      urls.add(Path.of(entry).toUri().toURL());
    }
    try (URLClassLoader isolated =
        new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
      try {
        Class.forName(className, true, isolated).getMethod(method).invoke(null);
      } catch (InvocationTargetException e) {
        return e.getCause();
      }
    }
    throw new AssertionError(className + "." + method + " did not fail");
  }
}
