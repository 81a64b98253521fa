package dev.machineid.issuer.internal.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

class IssuerFlywayImportFilterTest {
  private static final String BOOT4_FLYWAY =
      "org.springframework.boot.flyway.autoconfigure.FlywayAutoConfiguration";
  private static final String DATA_SOURCE =
      "org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration";
  private static final String[] CANDIDATES = {
    DATA_SOURCE, IssuerFlywayImportFilter.BOOT3_FLYWAY, null, BOOT4_FLYWAY
  };

  @TempDir
  Path app;

  @Test
  void leavesBootsFlywayAutoConfigurationOutWhenTheApplicationHasNoMigrations() throws IOException {
    assertThat(filter(Map.of()).match(CANDIDATES, null)).containsExactly(true, false, true, true);
  }

  @Test
  void keepsItWhenTheApplicationHasMigrationsAtTheDefaultLocation() throws IOException {
    Files.createDirectories(app.resolve("db/migration"));
    Files.writeString(app.resolve("db/migration/V1__orders.sql"), "create table orders (id int)");
    assertThat(filter(Map.of()).match(CANDIDATES, null)).containsExactly(true, true, true, true);
  }

  @Test
  void keepsItWhenTheConfiguredLocationsHoldMigrations() throws IOException {
    Files.createDirectories(app.resolve("sql/h2"));
    assertThat(filter(
                Map.of("spring.flyway.locations", "classpath:elsewhere, classpath:/sql/{vendor}"))
            .applicationUsesFlyway())
        .isTrue();
    assertThat(filter(Map.of(
                "spring.flyway.locations[0]",
                "classpath:elsewhere",
                "spring.flyway.locations[1]",
                "classpath:sql"))
            .applicationUsesFlyway())
        .isTrue();
    assertThat(filter(Map.of("spring.flyway.locations", "filesystem:" + app.resolve("sql")))
            .applicationUsesFlyway())
        .isTrue();
    assertThat(filter(Map.of("spring.flyway.locations", "classpath:elsewhere"))
            .applicationUsesFlyway())
        .isFalse();
  }

  @Test
  void followsAnExplicitSpringFlywayEnabled() throws IOException {
    assertThat(filter(Map.of("spring.flyway.enabled", "true")).match(CANDIDATES, null))
        .containsExactly(true, true, true, true);
    Files.createDirectories(app.resolve("db/migration"));
    assertThat(filter(Map.of("spring.flyway.enabled", "false")).applicationUsesFlyway())
        .isFalse();
  }

  @Test
  void keepsItWhenTheApplicationGivesFlywayItsOwnDatabase() throws IOException {
    assertThat(filter(Map.of("spring.flyway.url", "jdbc:h2:mem:app")).applicationUsesFlyway())
        .isTrue();
  }

  @Test
  void isRegisteredForSpringBootInSpringFactories() throws IOException {
    try (var in =
        IssuerFlywayImportFilter.class.getResourceAsStream("/META-INF/spring.factories")) {
      assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
          .contains("org.springframework.boot.autoconfigure.AutoConfigurationImportFilter="
              + IssuerFlywayImportFilter.class.getName());
    }
  }

  private IssuerFlywayImportFilter filter(Map<String, Object> properties) throws IOException {
    StandardEnvironment environment = new StandardEnvironment();
    environment.getPropertySources().addFirst(new MapPropertySource("test", properties));
    IssuerFlywayImportFilter filter = new IssuerFlywayImportFilter();
    filter.setEnvironment(environment);
    // the application's class path: only the temporary directory, so this project's own resources
    // do not count
    filter.setBeanClassLoader(new URLClassLoader(new URL[] {app.toUri().toURL()}, null));
    return filter;
  }
}
