package consumer.java25;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import java.time.Duration;

/** Joins the issuer it is given and prints the identity it received. */
public final class Main {
  private Main() {}

  public static Identity join(String issuer, String caPin, String token) {
    try (MachineIdentity id = MachineIdentity.builder()
        .issuer(issuer)
        .caPins(caPin)
        .token(token)
        .credentialTtl(Duration.ofMinutes(5))
        .startTimeout(Duration.ofMinutes(2)) // a CI machine shared by many builds may be slow to the first join
        .build()) {
      return id.start();
    }
  }

  public static void main(String[] args) {
    System.out.println(join(args[0], args[1], args[2]).spiffeId());
  }
}
