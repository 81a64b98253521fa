package dev.machineid.issuer.internal.spring;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.springframework.beans.factory.BeanClassLoaderAware;
import org.springframework.boot.autoconfigure.AutoConfigurationImportFilter;
import org.springframework.boot.autoconfigure.AutoConfigurationMetadata;
import org.springframework.context.EnvironmentAware;
import org.springframework.core.env.Environment;

/**
 * Keeps the issuer's own Flyway from switching on Spring Boot 3's Flyway auto-configuration.
 *
 * <p>The issuer migrates its store with Flyway, so {@code flyway-core} is on the class path of every
 * application that embeds an issuer or uses the testkit. Spring Boot 3 runs Flyway against the
 * application's own {@code DataSource} as soon as that class is present: the application's schema
 * gets a history table it never asked for, and a database Flyway's core does not support fails the
 * context. Boot loads this filter from {@code META-INF/spring.factories}; it leaves the auto-configuration
 * in place when the application shows it uses Flyway itself: {@code spring.flyway.enabled} set (its
 * value is followed), {@code spring.flyway.url} set, or migrations at {@code spring.flyway.locations}
 * (by default {@code classpath:db/migration}). Spring Boot 4 runs Flyway only when the application
 * adds its {@code spring-boot-flyway} module, so nothing is filtered there.
 */
public final class IssuerFlywayImportFilter
    implements AutoConfigurationImportFilter, EnvironmentAware, BeanClassLoaderAware {
  static final String BOOT3_FLYWAY =
      "org.springframework.boot.autoconfigure.flyway.FlywayAutoConfiguration";
  private static final String DEFAULT_LOCATION = "classpath:db/migration";

  private Environment environment;
  private ClassLoader classLoader = IssuerFlywayImportFilter.class.getClassLoader();

  /** Created by Spring Boot from {@code META-INF/spring.factories}. */
  public IssuerFlywayImportFilter() {}

  @Override
  public void setEnvironment(Environment environment) {
    this.environment = environment;
  }

  @Override
  public void setBeanClassLoader(ClassLoader classLoader) {
    this.classLoader = classLoader;
  }

  @Override
  public boolean[] match(
      String[] autoConfigurationClasses, AutoConfigurationMetadata autoConfigurationMetadata) {
    boolean[] match = new boolean[autoConfigurationClasses.length];
    for (int i = 0; i < autoConfigurationClasses.length; i++) {
      match[i] = !BOOT3_FLYWAY.equals(autoConfigurationClasses[i]) || applicationUsesFlyway();
    }
    return match;
  }

  boolean applicationUsesFlyway() {
    String enabled = property("spring.flyway.enabled");
    if (enabled != null) {
      return Boolean.parseBoolean(enabled.trim());
    }
    if (property("spring.flyway.url") != null) {
      return true;
    }
    for (String location : locations()) {
      if (exists(location.trim())) {
        return true;
      }
    }
    return false;
  }

  private List<String> locations() {
    List<String> locations = new ArrayList<>();
    String joined = property("spring.flyway.locations");
    if (joined != null) {
      locations.addAll(List.of(joined.split(",")));
    }
    for (int i = 0; ; i++) {
      String indexed = property("spring.flyway.locations[" + i + "]");
      if (indexed == null) {
        break;
      }
      locations.add(indexed);
    }
    if (locations.isEmpty()) {
      locations.add(DEFAULT_LOCATION);
    }
    return locations;
  }

  private boolean exists(String location) {
    if (location.isEmpty()) {
      return false;
    }
    if (location.startsWith("filesystem:")) {
      return Files.exists(Path.of(beforePlaceholder(location.substring("filesystem:".length()))));
    }
    String path =
        location.startsWith("classpath:") ? location.substring("classpath:".length()) : location;
    if (path.contains(":")) {
      return true; // another scheme (s3:, gcs:): the application configured Flyway itself
    }
    path = beforePlaceholder(path);
    while (path.startsWith("/")) {
      path = path.substring(1);
    }
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    ClassLoader loader = classLoader != null ? classLoader : ClassLoader.getSystemClassLoader();
    return !path.isEmpty() && loader.getResource(path) != null;
  }

  /** {@code db/migration/{vendor}} is looked for as {@code db/migration}. */
  private static String beforePlaceholder(String path) {
    int brace = path.indexOf('{');
    return brace < 0 ? path : path.substring(0, brace);
  }

  private String property(String name) {
    return environment == null ? null : environment.getProperty(name);
  }
}
