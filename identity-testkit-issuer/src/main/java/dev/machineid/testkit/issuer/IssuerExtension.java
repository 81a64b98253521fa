package dev.machineid.testkit.issuer;

import dev.machineid.issuer.Issuer;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that runs an embedded issuer on an ephemeral port for a test class and hands
 * each test a freshly registered bot with a join token.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final IssuerExtension ISSUER = IssuerExtension.create();
 *
 * @Test
 * void joins(TestBot bot) {
 *   try (MachineIdentity id = bot.identityBuilder().build()) {
 *     id.start();
 *   }
 * }
 * }</pre>
 *
 * Test methods may declare parameters of type {@link Issuer} and {@link TestBot}; each
 * {@code TestBot} parameter is a new bot.
 */
public final class IssuerExtension
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver {
  private static final AtomicInteger BOTS = new AtomicInteger();
  private final Consumer<Issuer.Builder> customizer;
  private volatile Issuer issuer;

  private IssuerExtension(Consumer<Issuer.Builder> customizer) {
    this.customizer = customizer;
  }

  /** An issuer with default settings. */
  public static IssuerExtension create() {
    return new IssuerExtension(b -> {});
  }

  /** An issuer whose builder the test adjusts first, e.g. {@code b -> b.clock(clock)}. */
  public static IssuerExtension create(Consumer<Issuer.Builder> customizer) {
    return new IssuerExtension(Objects.requireNonNull(customizer, "customizer"));
  }

  /** An issuer on the given clock. */
  public static IssuerExtension withClock(Clock clock) {
    return create(b -> b.clock(clock));
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    start();
  }

  /** Starts the issuer if it is not running; for use outside JUnit too. */
  public synchronized Issuer start() {
    if (issuer == null) {
      Issuer.Builder b = Issuer.builder();
      customizer.accept(b);
      issuer = b.build().start();
    }
    return issuer;
  }

  @Override
  public synchronized void afterAll(ExtensionContext context) {
    if (issuer != null) {
      issuer.close();
      issuer = null;
    }
  }

  /** The running issuer. */
  public Issuer issuer() {
    Issuer i = issuer;
    if (i == null) {
      throw new IllegalStateException(
          "the issuer is not running: register the extension with @RegisterExtension");
    }
    return i;
  }

  /** Registers a new bot and makes a join token for it, valid for an hour. */
  public TestBot newBot() {
    return newBot("bot-" + BOTS.incrementAndGet());
  }

  /** Registers a bot with this name and makes a join token for it, valid for an hour. */
  public TestBot newBot(String name) {
    Issuer i = issuer();
    i.bots().create(name);
    String token = i.tokens().create(name, Duration.ofHours(1));
    return new TestBot(name, token, i.url(), i.caPin());
  }

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
    Class<?> t = p.getParameter().getType();
    return t == Issuer.class || t == TestBot.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext e) {
    return p.getParameter().getType() == Issuer.class ? issuer() : newBot();
  }
}
