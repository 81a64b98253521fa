package dev.machineid.it.invariants;

import dev.machineid.core.CredentialHandle;
import dev.machineid.core.CredentialKind;
import dev.machineid.core.CredentialRequest;
import dev.machineid.core.Identity;
import dev.machineid.core.MachineIdentity;
import dev.machineid.issuer.Issuer;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.Role;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The SDK and the issuer in one process, for a test that reads everything they log at DEBUG: a
 * join, a renewal, role-scoped credentials (a JWT-SVID among them) and the refusal paths (an
 * unknown token, a wrong CA pin, a locked bot, a locked instance's renewal). Writes each secret it
 * used to the file named by its argument, one a line as {@code kind value} (private keys as
 * base64 PKCS#8), so that the test can look for them in the log; prints {@code DONE} at the end.
 */
public final class LoggedScenarioMain {
  private LoggedScenarioMain() {}

  public static void main(String[] args) throws Exception {
    Path secretsFile = Path.of(args[0]);
    List<String> secrets = new ArrayList<>();
    try (Issuer issuer = Issuer.builder().listen("127.0.0.1", 0).build().start()) {
      issuer
          .roles()
          .create(new Role(
              "svc",
              List.of("deploy"),
              List.of("app"),
              List.of(),
              List.of(),
              List.of(),
              List.of("billing"),
              false,
              null,
              null));
      issuer.bots().create("logged", List.of("svc"), Map.of());
      issuer.bots().create("locked", List.of("svc"), Map.of());

      // refusal: a token the issuer never made
      String unknown = "3f1c"
          + Base64.getUrlEncoder()
              .withoutPadding()
              .encodeToString(KeyPairGenerator.getInstance("EC")
                  .generateKeyPair()
                  .getPublic()
                  .getEncoded())
              .substring(30, 58);
      secrets.add("token " + unknown);
      refused(builder(issuer, unknown), "unknown token");

      // refusal: a wrong CA pin, with a valid token (which must not be sent, nor logged)
      String pinned = issuer.tokens().create("logged", Duration.ofMinutes(10));
      secrets.add("token " + pinned);
      refused(
          MachineIdentity.builder()
              .issuer(issuer.url())
              .caPins("sha256:" + "ab".repeat(32))
              .token(pinned)
              .startTimeout(Duration.ofSeconds(20)),
          "wrong pin");

      // refusal: a locked bot
      String lockedToken = issuer.tokens().create("locked", Duration.ofMinutes(10));
      secrets.add("token " + lockedToken);
      Lock lock = issuer.locks().create(Lock.bot("locked", "maintenance"));
      refused(builder(issuer, lockedToken), "locked bot");
      issuer.locks().remove(lock.id());

      // success: join, renewal, role-scoped credentials including a JWT-SVID
      String token = issuer.tokens().create("logged", Duration.ofMinutes(10));
      secrets.add("token " + token);
      try (MachineIdentity id = builder(issuer, token).sshCertificate(true).build()) {
        Identity joined = id.start();
        key(secrets, joined.privateKey());
        Identity renewed = id.renewNow().get(60, TimeUnit.SECONDS);
        key(secrets, renewed.privateKey());
        CredentialHandle db = id.credentials(CredentialRequest.database("app", "svc"));
        key(secrets, db.current().privateKey().orElseThrow());
        CredentialHandle jwt = id.credentials(CredentialRequest.builder(CredentialKind.JWT_SVID)
            .roles("svc")
            .audiences("billing")
            .build());
        secrets.add("jwt " + jwt.current().token().orElseThrow());
        jwt.refreshNow().get(60, TimeUnit.SECONDS);
        secrets.add("jwt " + jwt.current().token().orElseThrow());

        // refusal: the instance is locked, so the next renewal is refused
        issuer.locks().create(Lock.instance(joined.instanceId(), "host compromised"));
        try {
          id.renewNow().get(60, TimeUnit.SECONDS);
          throw new IllegalStateException("a locked instance renewed");
        } catch (java.util.concurrent.ExecutionException expected) {
          System.out.println("refused as expected (locked instance): "
              + expected.getCause().getClass().getSimpleName());
        }
      }
    }
    Files.write(secretsFile, secrets);
    System.out.println("DONE");
  }

  private static MachineIdentity.Builder builder(Issuer issuer, String token) {
    return MachineIdentity.builder()
        .issuer(issuer.url())
        .caPin(issuer.caPin())
        .token(token)
        .startTimeout(Duration.ofSeconds(20));
  }

  private static void refused(MachineIdentity.Builder builder, String what) {
    try (MachineIdentity id = builder.build()) {
      id.start();
      throw new IllegalStateException("joined despite " + what);
    } catch (RuntimeException expected) {
      if (expected instanceof IllegalStateException
          && expected.getMessage() != null
          && expected.getMessage().startsWith("joined despite")) {
        throw expected;
      }
      System.out.println(
          "refused as expected (" + what + "): " + expected.getClass().getSimpleName());
    }
  }

  private static void key(List<String> secrets, PrivateKey key) {
    secrets.add(
        "key " + Base64.getEncoder().encodeToString(key.getEncoded()) + " " + key.getAlgorithm());
  }
}
