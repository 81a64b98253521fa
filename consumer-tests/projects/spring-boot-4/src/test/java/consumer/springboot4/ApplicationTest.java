package consumer.springboot4;

import static org.assertj.core.api.Assertions.assertThat;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationContext;
import org.springframework.jdbc.core.JdbcTemplate;

@SpringBootTest
class ApplicationTest {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @Autowired ApplicationContext context;
  @Autowired JdbcTemplate jdbc;

  @Test
  void theApplicationsContextHasNoFlywayAndItsSchemaNoHistoryTableWithTheTestkitPresent() {
    assertThat(Arrays.stream(context.getBeanDefinitionNames()).filter(n -> n.toLowerCase().contains("flyway")))
        .as("Flyway beans in the application's context").isEmpty();
    assertThat(jdbc.queryForList(
            "select table_name from information_schema.tables where lower(table_name) like 'flyway%'", String.class))
        .as("Flyway tables in the application's database").isEmpty();
    assertThat(jdbc.queryForObject("select count(*) from orders", Integer.class)).isZero();
  }

  @Test
  void aTestJoinsTheTestkitsEmbeddedIssuer(TestBot bot) {
    try (MachineIdentity id = MachineIdentity.builder()
        // the testkit's builder allows 20 s; a CI machine shared by many builds may need longer for the first join
        .issuer(bot.issuer()).caPin(bot.caPin()).token(bot.token()).startTimeout(Duration.ofMinutes(2)).build()) {
      Identity identity = id.start();
      assertThat(identity.botName()).isEqualTo(bot.name());
    }
  }
}
