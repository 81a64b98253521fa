package dev.machineid.it.invariants;

import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Role;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * An issuer in its own process, for tests that read what it received: the test starts it with the
 * JDK's TLS debug output on ({@code -Djavax.net.debug=ssl:record:plaintext}), which writes every
 * record the issuer decrypts to standard error. Creates role {@code db} (database user
 * {@code app}, login {@code deploy}) and bot {@code keeper} holding it, prints
 * {@code READY <url> <ca pin> <token>}, then runs until its standard input closes.
 */
public final class RecordedIssuerMain {
  private RecordedIssuerMain() {}

  public static void main(String[] args) throws Exception {
    try (Issuer issuer = Issuer.builder().listen("127.0.0.1", 0).build().start()) {
      issuer
          .roles()
          .create(new Role(
              "db",
              List.of("deploy"),
              List.of("app"),
              List.of(),
              List.of(),
              List.of(),
              List.of(),
              false,
              null,
              null));
      issuer.bots().create("keeper", List.of("db"), Map.of());
      String token = issuer.tokens().create("keeper", Duration.ofMinutes(10));
      System.out.println("READY " + issuer.url() + " " + issuer.caPin() + " " + token);
      System.out.flush();
      while (System.in.read() >= 0) {
        // runs until the test closes the pipe
      }
    }
  }
}
