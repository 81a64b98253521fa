package dev.machineid.examples.quickstart;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.Identity;
import dev.machineid.core.IdentityListener;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.storage.Storage;
import dev.machineid.issuer.Issuer;
import dev.machineid.okhttp.OkHttpTls;
import dev.machineid.testkit.MtlsServer;
import dev.machineid.testkit.TestCertificateAuthority;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * The whole loop on one machine: an embedded issuer, a bot that joins it with a single-use token
 * and the issuer's CA pin, an HTTPS endpoint that requires client certificates, and in-process
 * renewals that the HTTP client picks up without a restart.
 */
public final class Quickstart {
  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);
  private static final Duration TTL = Duration.ofSeconds(9);
  private static final int RENEWALS = 2;
  private final PrintStream out;

  private Quickstart(PrintStream out) {
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    run(System.out, TTL, RENEWALS, List.of());
  }

  /**
   * Runs the whole loop, printing to {@code out}, with certificates that live {@code ttl} and
   * {@code renewals} renewals; {@code moreListeners} hear of each identity after the quickstart's own.
   * Returns the serial the API answered for each call, in order (the join's, then one per renewal).
   *
   * @throws IllegalStateException if a call after a renewal presented anything but the newest certificate
   */
  static List<String> run(
      PrintStream out, Duration ttl, int renewals, List<IdentityListener> moreListeners)
      throws Exception {
    return new Quickstart(out).run(ttl, renewals, moreListeners);
  }

  private List<String> run(Duration ttl, int renewals, List<IdentityListener> moreListeners)
      throws Exception {
    List<String> answered = new ArrayList<>();
    say("Machine identity quickstart");
    say("===========================");

    try (Issuer issuer = Issuer.builder().build().start()) {
      step(1, "Started an embedded issuer at " + issuer.url());
      detail("trust domain  " + issuer.trustDomain());
      detail(
          "CA pin        " + issuer.caPin() + "   (what 'issuer status' prints; clients pin it)");

      issuer.bots().create("quickstart");
      String token = issuer.tokens().create("quickstart", Duration.ofMinutes(5));
      step(2, "An operator registered bot 'quickstart' and made a single-use join token");
      detail("token         " + token.substring(0, 6)
          + "…  (a secret: shown here only by its prefix)");

      try (TestCertificateAuthority apiCa =
              TestCertificateAuthority.create("quickstart API server CA");
          MtlsServer api = MtlsServer.builder()
              .serverCertificate(apiCa.issueServerCertificate(List.of("127.0.0.1")))
              .trustedClientCAs(() -> List.of(issuer.authorityCertificate()))
              .start()) {
        step(
            3,
            "Started an HTTPS API at " + api.url()
                + " that requires a client certificate from the issuer");

        // a token is single use: keep the identity in a directory (0600) so a restart can renew it
        Path state = Files.createTempDirectory("machineid-quickstart-");
        BlockingQueue<Identity> renewed = new LinkedBlockingQueue<>();
        MachineIdentity.Builder builder = MachineIdentity.builder()
            .issuer(issuer.url())
            .caPin(issuer.caPin())
            .token(token)
            .storage(Storage.directory(state.resolve("identity")))
            .credentialTtl(ttl)
            .renewalPolicy(RenewalPolicy.defaults())
            .listener(new IdentityListener() {
              @Override
              public void onRenewed(Identity previous, Identity current) {
                renewed.add(current);
              }
            });
        moreListeners.forEach(builder::listener);
        try (MachineIdentity identity = builder.build()) {
          Identity id = identity.start();
          step(
              4,
              "The service joined: proved the token, checked the issuer against the pin, got an identity");
          describe(id);
          detail(
              "stored in     " + state.resolve("identity") + "  (key and certificate, mode 0600)");

          OkHttpClient http = OkHttpTls.configure(
                  new OkHttpClient.Builder(), identity, apiCa.trustManager())
              .build();
          step(5, "Called the API with that identity");
          answered.add(call(http, api, id));

          say("");
          say("   The certificate lives " + ttl.toSeconds() + " s, so the SDK renews it every "
              + ttl.dividedBy(3).toSeconds() + " to " + ttl.dividedBy(2).toSeconds()
              + " s, in the background, with no restart.");
          for (int i = 1; i <= renewals; i++) {
            Identity next = renewed.poll(ttl.toMillis() * 2, TimeUnit.MILLISECONDS);
            if (next == null) {
              throw new IllegalStateException(
                  "no renewal within " + ttl.multipliedBy(2) + ": " + identity.health());
            }
            step(
                5 + i,
                "Renewal " + i + " (generation " + next.generation()
                    + "), then the same HTTP client again");
            describe(next);
            answered.add(call(http, api, next));
          }

          say("");
          say("Done: joined once, renewed " + renewals
              + " times in-process, and every call presented the newest certificate.");
          say("Health: " + identity.health().state() + ". The API saw "
              + api.seenSerials().size() + " distinct client certificates.");
          http.dispatcher().executorService().shutdown();
          http.connectionPool().evictAll();
        } finally {
          deleteTree(state);
        }
      }
    }
    return answered;
  }

  private static void deleteTree(Path root) throws java.io.IOException {
    try (var paths = Files.walk(root)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private void describe(Identity id) {
    detail("bot           " + id.botName());
    detail("SPIFFE ID     " + id.spiffeId());
    detail("instance      " + id.instanceId() + "  (generation " + id.generation() + ")");
    detail("serial        " + id.serialHex());
    detail("valid until   " + TIME.format(id.notAfter()) + " UTC  ("
        + Duration.between(Instant.now(), id.notAfter()).toSeconds() + " s from now)");
  }

  /** Calls the API, which answers with the serial of the client certificate it saw; that must be {@code newest}'s. */
  private String call(OkHttpClient http, MtlsServer api, Identity newest) throws Exception {
    try (Response r =
        http.newCall(new Request.Builder().url(api.url().toString()).build()).execute()) {
      String body = r.body() == null ? "" : r.body().string().trim();
      detail("API answered  HTTP " + r.code() + " " + body);
      if (r.code() != 200) {
        throw new IllegalStateException("the API refused the call: HTTP " + r.code());
      }
      String serial = new ObjectMapper().readTree(body).path("serial").asText();
      if (!serial.equals(newest.serialHex())) {
        throw new IllegalStateException(
            "the API saw client certificate " + serial + ", not the newest one, "
                + newest.serialHex() + " (generation " + newest.generation() + ")");
      }
      return serial;
    }
  }

  private void step(int n, String text) {
    say("");
    say(n + ". " + text);
  }

  private void detail(String text) {
    say("   " + text);
  }

  private void say(String text) {
    out.println(text);
  }
}
