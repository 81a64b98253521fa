package dev.machineid.testkit.issuer;

import dev.machineid.core.CaPin;
import dev.machineid.core.MachineIdentity;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * A bot registered on an embedded issuer, with a fresh single-use join token.
 *
 * @param name the bot's name
 * @param token the join token (a secret: single use)
 * @param issuer the issuer's address
 * @param caPin the pin of the issuer's authority
 */
public record TestBot(String name, String token, URI issuer, CaPin caPin) {
  public TestBot {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(token, "token");
    Objects.requireNonNull(issuer, "issuer");
    Objects.requireNonNull(caPin, "caPin");
  }

  /** A builder already set with the issuer, the pin and the token, and a 20 s start timeout. */
  public MachineIdentity.Builder identityBuilder() {
    return MachineIdentity.builder()
        .issuer(issuer)
        .caPin(caPin)
        .token(token)
        .startTimeout(Duration.ofSeconds(20));
  }

  @Override
  public String toString() {
    return "TestBot{" + name + " at " + issuer + "}";
  }
}
