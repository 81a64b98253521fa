package consumer.modulepath;

import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.Issuer;
import java.time.Duration;

/** Embeds an issuer, joins it with a token and checks that everything ran as named modules. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    for (Class<?> c : new Class<?>[] {Main.class, MachineIdentity.class, Issuer.class,
        dev.machineid.outputs.http.JavaHttpClients.class, dev.machineid.okhttp.OkHttpTls.class}) {
      if (!c.getModule().isNamed()) {
        throw new IllegalStateException(c + " is not in a named module: not on the module path");
      }
    }
    // the wire model is for the project's own modules: a user's module cannot read it
    Module core = MachineIdentity.class.getModule();
    if (core.isExported("dev.machineid.core.protocol", Main.class.getModule())
        || !core.isExported("dev.machineid.core.protocol", Issuer.class.getModule())
        || core.isExported("dev.machineid.core.internal.renewal")) {
      throw new IllegalStateException("core exports " + core.getDescriptor().exports());
    }
    try (Issuer issuer = Issuer.builder().build().start()) {
      issuer.bots().create("modular");
      String token = issuer.tokens().create("modular", Duration.ofMinutes(5));
      try (MachineIdentity id = MachineIdentity.builder()
          .issuer(issuer.url())
          .caPin(issuer.caPin())
          .token(token)
          .startTimeout(Duration.ofMinutes(2)) // a CI machine shared by many builds may be slow to the first join
          .build()) {
        Identity identity = id.start();
        if (!"modular".equals(identity.botName())) {
          throw new IllegalStateException("joined as " + identity.botName());
        }
        System.out.println("joined on the module path as " + identity.spiffeId()
            + " (" + MachineIdentity.class.getModule().getName() + ")");
      }
    }
    System.exit(0);
  }
}
