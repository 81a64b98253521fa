package consumer.java17;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.machineid.core.Identity;
import dev.machineid.testkit.issuer.IssuerExtension;
import dev.machineid.testkit.issuer.TestBot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class MainTest {
  @RegisterExtension static final IssuerExtension ISSUER = IssuerExtension.create();

  @Test
  void joinsTheEmbeddedIssuerWithTheDocumentedDependencies(TestBot bot) {
    Identity identity = Main.join(bot.issuer().toString(), bot.caPin().toString(), bot.token());
    assertEquals(bot.name(), identity.botName());
  }
}
