package dev.machineid.core.join;

import java.util.Objects;

/**
 * The {@code token} join method: a single-use secret made by an operator, for bootstrap. The bot then
 * renews with {@code /v1/renew} and generation counting, so it needs durable storage to survive a
 * restart.
 */
public final class TokenJoinMethod implements JoinMethod {
  public static final String NAME = "token";
  private final String token;

  public TokenJoinMethod(String token) {
    Objects.requireNonNull(token, "token");
    if (token.isBlank()) {
      throw new IllegalArgumentException("join token is empty");
    }
    this.token = token.trim();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String token() {
    return token;
  }

  @Override
  public boolean renewable() {
    return true;
  }

  @Override
  public JoinProof attest(JoinContext context) {
    return JoinProof.empty();
  }

  @Override
  public String toString() {
    // never the secret: a short prefix is enough to tell tokens apart in logs
    return "token(" + (token.length() > 4 ? token.substring(0, 4) : "") + "…)";
  }

  /** ServiceLoader provider for {@code token}; settings: {@code token}. */
  public static final class Provider implements JoinMethodProvider {
    /** Called by {@link java.util.ServiceLoader}. */
    public Provider() {}

    @Override
    public String name() {
      return NAME;
    }

    @Override
    public JoinMethod create(dev.machineid.core.config.Settings settings) {
      if (!settings.has("token")) {
        throw new dev.machineid.core.config.SettingsException(
            settings.pathOf("token"),
            "missing; join method 'token' needs the join token an operator created");
      }
      return new TokenJoinMethod(settings.string("token"));
    }
  }
}
