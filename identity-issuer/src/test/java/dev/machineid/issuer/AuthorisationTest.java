package dev.machineid.issuer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.IdentityExtension;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Pem;
import dev.machineid.issuer.internal.authority.CredentialMarks;
import dev.machineid.testkit.MutableClock;
import dev.machineid.testkit.ProtocolClient;
import java.math.BigInteger;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authorisation and revocation (docs/architecture.md §11, invariant 13 and §11.14): a credential buys exactly its scope, only
 * the instance's current bot certificate acts for it, and deleting a bot, removing an admin or
 * locking a certificate refuses it at once, also against a call already authorised.
 */
class AuthorisationTest {
  private static final String HEARTBEAT =
      "{\"hostname\":\"h\",\"version\":\"1\",\"uptime_seconds\":1,\"one_shot\":false}";

  @TempDir
  Path dir;

  private final MutableClock clock = MutableClock.stopped();
  private HookedStore store;
  private Issuer issuer;
  private KeyPair keys;
  private IdentityResponse joined;

  @BeforeEach
  void start() {
    store = new HookedStore(IssuerStore.inMemory());
    issuer = Issuer.builder()
        .trustDomain("example.test")
        .clock(clock)
        .store(store)
        .keysDirectory(dir.resolve("keys"))
        .build()
        .start();
    issuer
        .roles()
        .create(new Role(
            "deployer",
            List.of("deploy"),
            List.of("app"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            Duration.ofMinutes(20),
            null));
    issuer
        .roles()
        .create(new Role(
            "other",
            List.of("root"),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            false,
            null,
            null));
    issuer.bots().create("web", List.of("deployer"), Map.of());
    keys = ProtocolClient.ec();
    joined = join("web", keys);
  }

  @AfterEach
  void stop() {
    issuer.close();
    store.close();
  }

  // ---------------------------------------------------------------- helpers

  private IdentityResponse join(String bot, KeyPair k) {
    ProtocolClient.Reply r = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join(issuer.tokens().create(bot, Duration.ofMinutes(5)), k, null);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.as(IdentityResponse.class);
  }

  private ProtocolClient as(KeyPair k, IdentityResponse c) {
    return ProtocolClient.as(issuer.url(), issuer.authorityCertificate(), k, c);
  }

  private static ProtocolClient.Reply credentials(
      ProtocolClient c, String kind, List<String> roles, KeyPair credentialKeys) {
    ObjectNode req = ProtocolClient.object()
        .put("kind", kind)
        .put("public_key", Pem.encode(credentialKeys.getPublic()));
    roles.forEach(req.putArray("roles")::add);
    if (kind.equals("database")) {
      req.putObject("target").put("database_user", "app");
    }
    return c.post("/v1/certificates", req);
  }

  private static X509Certificate leaf(IdentityResponse c) {
    return Pem.certificate(c.certificateChain().get(0));
  }

  private IdentityResponse renewed(KeyPair current, IdentityResponse c, KeyPair next) {
    ProtocolClient.Reply r = as(current, c).renew(c.generation(), next, null);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    return r.as(IdentityResponse.class);
  }

  private boolean locked() {
    return issuer.instances().find(joined.instanceId()).orElseThrow().locked();
  }

  private AuditEvent lastFailure(String type) {
    List<AuditEvent> failures = issuer.audit().events().stream()
        .filter(e -> e.type().equals(type) && e.outcome().equals(AuditEvent.FAILURE))
        .toList();
    assertThat(failures).as("failed " + type + " events").isNotEmpty();
    return failures.get(failures.size() - 1);
  }

  /** A role-scoped identity credential of the joined bot, as {@code kind: identity} answers it. */
  private IdentityResponse scopedIdentity(KeyPair scopedKeys) {
    ProtocolClient.Reply r =
        credentials(as(keys, joined), "identity", List.of("deployer"), scopedKeys);
    assertThat(r.status()).as(r.toString()).isEqualTo(200);
    List<String> chain = List.of(
        r.json().get("certificate_chain").get(0).asText(),
        r.json().get("certificate_chain").get(1).asText());
    return new IdentityResponse(
        joined.bot(),
        joined.instanceId(),
        joined.generation(),
        chain,
        null,
        joined.notAfter(),
        joined.renewAfter(),
        joined.serverTime(),
        null);
  }

  // ---------------------------------------------------------------- §11.13: a credential buys
  // exactly its scope

  @Test
  void aScopedIdentityCredentialCannotRenew() {
    KeyPair scopedKeys = ProtocolClient.ec();
    IdentityResponse scoped = scopedIdentity(scopedKeys);
    X509Certificate cert = leaf(scoped);
    assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=bot-web");
    assertThat(IdentityExtension.from(cert)).as("no bot identity extension").isEmpty();
    assertThat(CredentialMarks.has(cert, CredentialMarks.SCOPED_IDENTITY)).isTrue();

    ProtocolClient.Reply renew =
        as(scopedKeys, scoped).renew(joined.generation(), ProtocolClient.ec(), null);

    assertThat(renew.status()).as(renew.toString()).isEqualTo(401);
    assertThat(renew.code()).isEqualTo("unauthenticated");
    assertThat(lastFailure("renew").detail().get("reason"))
        .contains("role-scoped identity credential");
    // it locked nothing: the bot's own certificate renews as before
    assertThat(locked()).isFalse();
    assertThat(renewed(keys, joined, ProtocolClient.ec()).generation()).isEqualTo(2);
  }

  @Test
  void aCredentialBuysExactlyItsScope() {
    KeyPair scopedKeys = ProtocolClient.ec();
    IdentityResponse scoped = scopedIdentity(scopedKeys);
    ProtocolClient asScoped = as(scopedKeys, scoped);
    // a role-scoped credential never renews, mints other credentials, heartbeats or administers
    assertThat(asScoped.renew(joined.generation(), ProtocolClient.ec(), null).code())
        .isEqualTo("unauthenticated");
    assertThat(credentials(asScoped, "database", List.of("deployer"), ProtocolClient.ec())
            .code())
        .isEqualTo("unauthenticated");
    assertThat(credentials(asScoped, "identity", List.of("deployer"), ProtocolClient.ec())
            .code())
        .isEqualTo("unauthenticated");
    assertThat(asScoped.post("/v1/heartbeat", HEARTBEAT).code()).isEqualTo("unauthenticated");
    assertThat(asScoped.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().generation())
        .isEqualTo(1);
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().heartbeat())
        .isEmpty();

    // the identity credential honours its roles: only roles granted to the bot, and their max_ttl
    assertThat(credentials(as(keys, joined), "identity", List.of("other"), ProtocolClient.ec())
            .code())
        .isEqualTo("role_denied");
    X509Certificate cert = leaf(scoped);
    assertThat(
            Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()))
        .isLessThanOrEqualTo(Duration.ofMinutes(21));

    // only the instance's current certificate (its recorded serial) acts for it
    KeyPair k2 = ProtocolClient.ec();
    IdentityResponse g2 = renewed(keys, joined, k2);
    ProtocolClient superseded = as(keys, joined);
    assertThat(credentials(superseded, "database", List.of("deployer"), ProtocolClient.ec())
            .code())
        .isEqualTo("generation_mismatch");
    assertThat(superseded.post("/v1/heartbeat", HEARTBEAT).code()).isEqualTo("generation_mismatch");
    assertThat(credentials(as(k2, g2), "database", List.of("deployer"), ProtocolClient.ec())
            .status())
        .isEqualTo(200);
    assertThat(as(k2, g2).post("/v1/heartbeat", HEARTBEAT).status()).isEqualTo(204);
    assertThat(locked()).isFalse();
  }

  @Test
  void aSupersededCertificateMintsNothing() {
    KeyPair k2 = ProtocolClient.ec();
    IdentityResponse g2 = renewed(keys, joined, k2);
    ProtocolClient superseded = as(keys, joined);

    ProtocolClient.Reply minted =
        credentials(superseded, "database", List.of("deployer"), ProtocolClient.ec());
    ProtocolClient.Reply beat = superseded.post("/v1/heartbeat", HEARTBEAT);

    assertThat(minted.status()).as(minted.toString()).isEqualTo(409);
    assertThat(minted.code()).isEqualTo("generation_mismatch");
    assertThat(beat.code()).isEqualTo("generation_mismatch");
    assertThat(lastFailure("certificate.issued").detail().get("reason"))
        .contains("superseded certificate of generation 1");
    assertThat(lastFailure("heartbeat").detail().get("reason"))
        .contains("superseded certificate of generation 1");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().heartbeat())
        .isEmpty();
    // the certificate just superseded is what the bot itself holds while it retries a renewal whose
    // answer was lost: it is refused without a lock, and the retry still gets the same certificate
    assertThat(locked()).isFalse();
    ProtocolClient.Reply retry = superseded.renew(1, k2, null);
    assertThat(retry.status()).as(retry.toString()).isEqualTo(200);
    assertThat(retry.as(IdentityResponse.class).certificateChain())
        .isEqualTo(g2.certificateChain());
  }

  @Test
  void aCertificateOlderThanThePreviousGenerationLocksTheInstanceWhereverItIsPresented() {
    KeyPair k2 = ProtocolClient.ec();
    IdentityResponse g2 = renewed(keys, joined, k2);
    renewed(k2, g2, ProtocolClient.ec());

    ProtocolClient.Reply minted =
        credentials(as(keys, joined), "application", List.of(), ProtocolClient.ec());

    assertThat(minted.code()).isEqualTo("generation_mismatch");
    assertThat(locked()).isTrue();
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("instance.locked");
      assertThat(e.detail().get("reason")).contains("superseded certificate of generation 1");
    });
  }

  // ---------------------------------------------------------------- §11.14: revocation revokes

  @Test
  void aDeletedBotsTokenJoinsNothing() {
    String unused = issuer.tokens().create("web", Duration.ofMinutes(5));
    issuer.bots().delete("web");
    issuer.bots().create("web", List.of("deployer"), Map.of());

    ProtocolClient.Reply r = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
        .join(unused, ProtocolClient.ec(), null);

    assertThat(r.status()).as(r.toString()).isBetween(400, 499);
    assertThat(issuer.instances().list("web")).isEmpty();
    assertThat(issuer.tokens().list()).isEmpty();
  }

  @Test
  void aDeletedBotsCertificateRenewsNothing() {
    issuer.bots().delete("web");
    issuer.bots().create("web", List.of("deployer"), Map.of());
    ProtocolClient old = as(keys, joined);

    assertThat(old.renew(1, ProtocolClient.ec(), null).code()).isEqualTo("unauthenticated");
    assertThat(credentials(old, "database", List.of("deployer"), ProtocolClient.ec())
            .code())
        .isEqualTo("unauthenticated");
    assertThat(old.post("/v1/heartbeat", HEARTBEAT).code()).isEqualTo("unauthenticated");
    assertThat(issuer.instances().list("web")).isEmpty();
    assertThat(issuer.instances().find(joined.instanceId())).isEmpty();
  }

  @Test
  void revocationRevokes() {
    // deleting a bot ends its instances and tokens, in one transaction with its audit event
    String unused = issuer.tokens().create("web", Duration.ofMinutes(5));
    assertThat(issuer.bots().delete("web")).isTrue();
    assertThat(issuer.instances().list("web")).isEmpty();
    assertThat(issuer.tokens().list()).isEmpty();
    assertThat(issuer.audit().events())
        .filteredOn(e -> e.type().equals("bot.deleted"))
        .hasSize(1);
    // nothing comes back when the name is reused
    issuer.bots().create("web", List.of("deployer"), Map.of());
    assertThat(as(keys, joined).renew(1, ProtocolClient.ec(), null).code())
        .isEqualTo("unauthenticated");
    assertThat(ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate())
            .join(unused, ProtocolClient.ec(), null)
            .status())
        .isBetween(400, 499);

    // removing an admin or locking its certificate refuses it at once
    Admin ops = admin("ops");
    Admin sec = admin("sec");
    assertThat(ops.client.get("/v1/admin/bots").status()).isEqualTo(200);
    assertThat(issuer.admins().remove("ops")).isTrue();
    assertThat(ops.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    issuer.locks().create(Lock.serial(sec.certificate.getSerialNumber().toString(16), "leaked"));
    assertThat(sec.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    // and a removed admin's certificates stay refused when the name is added again
    clock.advance(Duration.ofSeconds(2));
    issuer.admins().add("ops");
    assertThat(ops.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
  }

  /** An admin identity: its certificate and a client presenting it. */
  private record Admin(KeyPair keys, X509Certificate certificate, ProtocolClient client) {}

  private Admin admin(String name) {
    KeyPair k = ProtocolClient.ec();
    X509Certificate c = issuer.admins().issueCertificate(name, k.getPublic(), Duration.ofHours(12));
    return new Admin(
        k,
        c,
        ProtocolClient.mtls(
            issuer.url(), issuer.authorityCertificate(), k.getPrivate(), new X509Certificate[] {c
            }));
  }

  private static ProtocolClient.Reply delete(ProtocolClient c, String path) {
    return c.send("DELETE", path, null, HttpRequest.BodyPublishers.noBody());
  }

  private static ProtocolClient.Reply adminRenew(ProtocolClient c, KeyPair next) {
    return c.post(
        "/v1/admin/renew",
        ProtocolClient.object().put("public_key", Pem.encode(next.getPublic())).put("ttl", "12h"));
  }

  @Test
  void aRemovedAdminIsRefused() {
    Admin ops = admin("ops");
    Admin sec = admin("sec");
    assertThat(ops.client.get("/v1/admin/admins").json())
        .extracting(n -> n.get("name").asText())
        .containsExactly("ops", "sec");

    ProtocolClient.Reply removed = delete(sec.client, "/v1/admin/admins/ops");

    assertThat(removed.status()).as(removed.toString()).isEqualTo(204);
    ProtocolClient.Reply refused = ops.client.get("/v1/admin/bots");
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.code()).isEqualTo("unauthenticated");
    assertThat(adminRenew(ops.client, ProtocolClient.ec()).code()).isEqualTo("unauthenticated");
    assertThat(issuer.audit().events()).anySatisfy(e -> {
      assertThat(e.type()).isEqualTo("admin.removed");
      assertThat(e.detail()).containsEntry("admin", "ops").containsEntry("actor", "admin:sec");
    });
    // the configured list rules: names missing from it are removed, at once
    clock.advance(Duration.ofSeconds(2));
    Admins.Changes changes = issuer.admins().sync(List.of("ops", "root"));
    assertThat(changes.added()).containsExactly("ops", "root");
    assertThat(changes.removed()).containsExactly("sec");
    assertThat(sec.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    assertThat(issuer.admins().list())
        .extracting(AdminIdentity::name)
        .containsExactly("ops", "root");
    // re-adding "ops" did not revive the certificate of the removed "ops"
    assertThat(ops.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    assertThat(admin("ops").client.get("/v1/admin/bots").status()).isEqualTo(200);
    // an admin cannot remove itself by accident, nor the last one
    assertThat(delete(admin("root").client, "/v1/admin/admins/root").code())
        .isEqualTo("malformed_request");
    assertThatThrownBy(() -> issuer.admins().sync(List.of()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static ProtocolClient.Reply putAdmins(ProtocolClient c, String... names) {
    ObjectNode body = ProtocolClient.object();
    for (String n : names) {
      body.withArray("names").add(n);
    }
    return c.send(
        "PUT",
        "/v1/admin/admins",
        "application/json",
        HttpRequest.BodyPublishers.ofString(body.toString()));
  }

  @Test
  void anAdminCannotDropItselfByReplacingTheAdminList() {
    Admin ops = admin("ops");
    Admin sec = admin("sec");

    // replacing the list with one that leaves the caller out is the same self-removal as DELETE
    ProtocolClient.Reply others = putAdmins(ops.client, "sec");
    assertThat(others.status()).as(others.toString()).isEqualTo(400);
    assertThat(others.code()).isEqualTo("malformed_request");
    // nor can the list be replaced by a name no one holds a certificate for
    assertThat(putAdmins(ops.client, "ghost").code()).isEqualTo("malformed_request");
    // refused before anything changed: both admins remain and the caller still works
    assertThat(issuer.admins().list())
        .extracting(AdminIdentity::name)
        .containsExactly("ops", "sec");
    assertThat(ops.client.get("/v1/admin/bots").status()).isEqualTo(200);
    assertThat(issuer.audit().events())
        .noneSatisfy(e -> assertThat(e.type()).isEqualTo("admin.removed"));

    // a list that keeps the caller may remove others
    ProtocolClient.Reply kept = putAdmins(ops.client, "ops", "root");
    assertThat(kept.status()).as(kept.toString()).isEqualTo(200);
    assertThat(kept.json().get("removed"))
        .extracting(com.fasterxml.jackson.databind.JsonNode::asText)
        .containsExactly("sec");
    assertThat(sec.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    assertThat(ops.client.get("/v1/admin/bots").status()).isEqualTo(200);
    // the operator's own sync (issuer serve, from issuer.yaml) is not the API and may remove anyone
    assertThat(issuer.admins().sync(List.of("root")).removed()).containsExactly("ops");
  }

  @Test
  void aCertificateIssuedBeforeAnAdminWasAddedAgainIsRefusedWithoutAllowance() throws Exception {
    Admin sec = admin("sec");
    admin("ops");
    // made by other tooling with the authority key, not back-dated: valid from the moment it was
    // made
    KeyPair k = ProtocolClient.ec();
    X509Certificate foreign = forge(
        "admin-ops",
        "spiffe://example.test/admin/ops",
        null,
        KeyUsage.digitalSignature,
        List.of(KeyPurposeId.id_kp_clientAuth),
        k,
        clock.instant());
    ProtocolClient foreignClient = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), k.getPrivate(), new X509Certificate[] {foreign
        });
    assertThat(foreignClient.get("/v1/admin/bots").status()).isEqualTo(200);
    clock.advance(Duration.ofSeconds(10));
    assertThat(delete(sec.client, "/v1/admin/admins/ops").status()).isEqualTo(204);
    clock.advance(Duration.ofSeconds(10));
    issuer.admins().add("ops");

    // issued 20 s before the record was created again: refused, however recent
    assertThat(foreignClient.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");

    // an issuer-made certificate (as 'issuer admin reissue' signs one) from earlier in the same
    // second as a re-add is refused too
    assertThat(delete(sec.client, "/v1/admin/admins/ops").status()).isEqualTo(204);
    Instant t = clock.instant();
    clock.advance(Duration.ofSeconds(1).minusNanos(t.getNano()).plusMillis(100));
    KeyPair k2 = ProtocolClient.ec();
    X509Certificate early = dev.machineid.issuer.internal.admin.AdminCertificates.issue(
        authorityOf(issuer),
        "example.test",
        "ops",
        k2.getPublic(),
        clock.instant(),
        Duration.ofHours(1),
        new java.security.SecureRandom());
    clock.advance(Duration.ofMillis(200));
    issuer.admins().add("ops");
    assertThat(ProtocolClient.mtls(
                issuer.url(),
                issuer.authorityCertificate(),
                k2.getPrivate(),
                new X509Certificate[] {early})
            .get("/v1/admin/bots")
            .code())
        .isEqualTo("unauthenticated");

    // one issued after the record is accepted
    assertThat(admin("ops").client.get("/v1/admin/bots").status()).isEqualTo(200);
  }

  private static dev.machineid.issuer.internal.authority.CertificateAuthority authorityOf(
      Issuer issuer) {
    try {
      java.lang.reflect.Field f = Issuer.class.getDeclaredField("keys");
      f.setAccessible(true);
      return ((dev.machineid.issuer.internal.authority.KeyMaterial) f.get(issuer)).authority();
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aLockedAdminCertificateIsRefused() {
    Admin ops = admin("ops");
    KeyPair next = ProtocolClient.ec();
    ProtocolClient.Reply renewal = adminRenew(ops.client, next);
    assertThat(renewal.status()).as(renewal.toString()).isEqualTo(200);
    X509Certificate renewedCert =
        Pem.certificate(renewal.json().get("certificate_chain").get(0).asText());
    ProtocolClient renewedClient = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), next.getPrivate(), new X509Certificate[] {
          renewedCert
        });
    assertThat(renewedClient.get("/v1/admin/bots").status()).isEqualTo(200);

    // locked by its serial as openssl prints it: upper case, with leading zeros
    issuer
        .locks()
        .create(Lock.serial(
            "00"
                + ops.certificate.getSerialNumber().toString(16).toUpperCase(java.util.Locale.ROOT),
            "admin key leaked"));

    ProtocolClient.Reply refused = ops.client.get("/v1/admin/bots");
    assertThat(refused.status()).isEqualTo(401);
    assertThat(refused.code()).isEqualTo("unauthenticated");
    // the lock on a certificate also refuses what was renewed from it
    assertThat(renewedClient.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    assertThat(admin("ops").client.get("/v1/admin/bots").status()).isEqualTo(200);
  }

  @Test
  void adminSelfRenewalCannotOutliveTheRecord() {
    Admin ops = admin("ops");
    KeyPair next = ProtocolClient.ec();
    ProtocolClient.Reply renewal = adminRenew(ops.client, next);
    assertThat(renewal.status()).as(renewal.toString()).isEqualTo(200);
    X509Certificate renewedCert =
        Pem.certificate(renewal.json().get("certificate_chain").get(0).asText());
    ProtocolClient renewedClient = ProtocolClient.mtls(
        issuer.url(), issuer.authorityCertificate(), next.getPrivate(), new X509Certificate[] {
          renewedCert
        });

    // a renewed certificate cannot renew again: the chain of self-renewals ends after one step
    ProtocolClient.Reply again = adminRenew(renewedClient, ProtocolClient.ec());
    assertThat(again.status()).as(again.toString()).isEqualTo(401);
    assertThat(again.code()).isEqualTo("unauthenticated");

    // a renewal racing the admin's removal: the removal commits first, so nothing is issued
    store.atNextTransaction(() -> issuer.admins().remove("ops"));
    ProtocolClient.Reply raced = adminRenew(ops.client, ProtocolClient.ec());
    assertThat(store.fired()).isTrue();
    assertThat(raced.code()).isEqualTo("unauthenticated");
    // the operator's certificate and the one renewal: nothing else was issued
    assertThat(issuer.audit().events())
        .filteredOn(e -> e.type().equals("admin.certificate"))
        .hasSize(2);

    // once the record is gone, every certificate of it is refused, renewed or not, also after the
    // name returns
    clock.advance(Duration.ofSeconds(2));
    issuer.admins().add("ops");
    assertThat(renewedClient.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
    assertThat(ops.client.get("/v1/admin/bots").code()).isEqualTo("unauthenticated");
  }

  // ---------------------------------------------------------------- races: locks and deletions win

  @Test
  void nothingIsIssuedAfterALockCommits() {
    // the renewal is authorised, then a lock on the bot commits (as on another replica) before the
    // transaction that issues: the renewal must not commit
    store.atNextTransaction(() -> issuer.locks().create(Lock.bot("web", "compromised")));
    ProtocolClient.Reply renewal = as(keys, joined).renew(1, ProtocolClient.ec(), null);
    assertThat(store.fired()).isTrue();
    assertThat(renewal.status()).as(renewal.toString()).isEqualTo(403);
    assertThat(renewal.code()).isEqualTo("bot_locked");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().generation())
        .isEqualTo(1);
    assertThat(issuer.audit().events()).noneSatisfy(e -> {
      assertThat(e.type()).isEqualTo("renew");
      assertThat(e.outcome()).isEqualTo(AuditEvent.SUCCESS);
    });

    // and a credential request: signed, but refused because the lock committed before it did
    for (Lock l : issuer.locks().list()) {
      issuer.locks().remove(l.id());
    }
    store.atNextTransaction(
        () -> issuer.locks().create(Lock.instance(joined.instanceId(), "compromised")));
    ProtocolClient.Reply credential =
        credentials(as(keys, joined), "database", List.of("deployer"), ProtocolClient.ec());
    assertThat(store.fired()).isTrue();
    assertThat(credential.code()).isEqualTo("bot_locked");
    assertThat(credential.json().has("certificate_chain")).isFalse();
    assertThat(issuer.audit().events()).noneSatisfy(e -> {
      assertThat(e.type()).isEqualTo("certificate.issued");
      assertThat(e.outcome()).isEqualTo(AuditEvent.SUCCESS);
    });
  }

  @Test
  void nothingIsIssuedAfterTheBotsDeletionCommits() {
    store.atNextTransaction(() -> issuer.bots().delete("web"));
    ProtocolClient.Reply renewal = as(keys, joined).renew(1, ProtocolClient.ec(), null);
    assertThat(store.fired()).isTrue();
    assertThat(renewal.code()).isEqualTo("unauthenticated");
    assertThat(issuer.instances().find(joined.instanceId())).isEmpty();

    // a join authorised before the deletion committed creates no instance of the deleted bot
    issuer.bots().create("api", List.of(), Map.of());
    String token = issuer.tokens().create("api", Duration.ofMinutes(5));
    ProtocolClient joiner = ProtocolClient.anonymous(issuer.url(), issuer.authorityCertificate());
    KeyPair k = ProtocolClient.ec();
    ObjectNode req =
        ProtocolClient.joinRequest(token, joiner.challenge("token", token, k), k, null);
    // the token's consumption is the join's first transaction; the deletion lands before the second
    store.atNextTransaction(() -> store.atNextTransaction(() -> issuer.bots().delete("api")));
    ProtocolClient.Reply joinReply = joiner.post("/v1/join", req);
    assertThat(store.fired()).isTrue();
    assertThat(joinReply.status()).as(joinReply.toString()).isBetween(400, 499);
    assertThat(issuer.instances().list("api")).isEmpty();
  }

  // ---------------------------------------------------------------- lock serials, key usage

  @Test
  void lockSerialsAreNormalised() {
    String hex = leaf(joined).getSerialNumber().toString(16);
    StringBuilder colons = new StringBuilder("00");
    String padded = hex.length() % 2 == 0 ? hex : "0" + hex;
    for (int i = 0; i < padded.length(); i += 2) {
      colons.append(':').append(padded, i, i + 2);
    }
    assertThat(Lock.serial(colons.toString().toUpperCase(java.util.Locale.ROOT), "r")
            .value())
        .isEqualTo(hex);
    assertThat(Lock.serial("0x00AB", "r").value()).isEqualTo("ab");
    for (String bad : List.of("xyz", "", "00", "0a::0b", "ab:", "12 34 5g", "1".repeat(41))) {
      assertThatThrownBy(() -> Lock.serial(bad, "r"))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }

    // a lock given as tools print the serial applies to the certificate
    issuer
        .locks()
        .create(new Lock(
            null,
            Lock.Target.SERIAL,
            colons.toString().toUpperCase(java.util.Locale.ROOT),
            "leaked",
            null,
            null));
    assertThat(issuer.locks().list()).singleElement().extracting(Lock::value).isEqualTo(hex);
    assertThat(as(keys, joined).renew(1, ProtocolClient.ec(), null).code()).isEqualTo("bot_locked");

    // a serial that is no serial is refused and stores nothing
    Admin ops = admin("ops");
    ProtocolClient.Reply bad = ops.client.post(
        "/v1/admin/locks",
        ProtocolClient.object().put("target", "serial").put("value", "not-a-serial"));
    assertThat(bad.code()).isEqualTo("malformed_request");
    assertThatThrownBy(
            () -> issuer.locks().create(new Lock(null, Lock.Target.SERIAL, "zz", "r", null, null)))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(issuer.locks().list()).hasSize(1);
  }

  /** Signs a leaf with the issuer authority's key (read from the keys directory), as an attacker with a mis-issued certificate would hold. */
  private X509Certificate forge(
      String cn,
      String uri,
      IdentityExtension ext,
      int keyUsage,
      List<KeyPurposeId> usages,
      KeyPair subject)
      throws Exception {
    return forge(cn, uri, ext, keyUsage, usages, subject, clock.instant().minusSeconds(60));
  }

  private X509Certificate forge(
      String cn,
      String uri,
      IdentityExtension ext,
      int keyUsage,
      List<KeyPurposeId> usages,
      KeyPair subject,
      Instant notBefore)
      throws Exception {
    Path keysDir = dir.resolve("keys");
    PrivateKey caKey = Pem.privateKey(
        Files.readString(keysDir.resolve("authority-key.pem"), StandardCharsets.US_ASCII));
    X509Certificate ca = issuer.authorityCertificate();
    Instant now = clock.instant();
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(
        X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()),
        new BigInteger(64, new java.security.SecureRandom()).add(BigInteger.ONE),
        Date.from(notBefore),
        Date.from(now.plus(Duration.ofHours(1))),
        new X500Name("CN=" + cn),
        subject.getPublic());
    b.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, uri)));
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
    b.addExtension(
        Extension.extendedKeyUsage,
        false,
        new ExtendedKeyUsage(usages.toArray(KeyPurposeId[]::new)));
    if (ext != null) {
      b.addExtension(new ASN1ObjectIdentifier(IdentityExtension.OID), false, ext.toDer());
    }
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey)));
  }

  private X509Certificate forgedBot(int keyUsage, List<KeyPurposeId> usages, KeyPair k)
      throws Exception {
    return forge(
        "bot-web",
        "spiffe://example.test/bot/web",
        new IdentityExtension(joined.instanceId(), 1, "token"),
        keyUsage,
        usages,
        k);
  }

  @Test
  void aClientCertificateWithoutDigitalSignatureKeyUsageIsRefused() throws Exception {
    KeyPair k = ProtocolClient.ec();
    X509Certificate bot =
        forgedBot(KeyUsage.keyEncipherment, List.of(KeyPurposeId.id_kp_clientAuth), k);
    ProtocolClient.Reply renewal = ProtocolClient.mtls(
            issuer.url(), issuer.authorityCertificate(), k.getPrivate(), new X509Certificate[] {bot
            })
        .renew(1, ProtocolClient.ec(), null);
    assertThat(renewal.code()).isEqualTo("unauthenticated");
    assertThat(lastFailure("renew").detail().get("reason"))
        .contains("lacks key usage digitalSignature");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().generation())
        .isEqualTo(1);

    admin("ops");
    KeyPair ak = ProtocolClient.ec();
    X509Certificate adminCert = forge(
        "admin-ops",
        "spiffe://example.test/admin/ops",
        null,
        KeyUsage.keyEncipherment,
        List.of(KeyPurposeId.id_kp_clientAuth),
        ak);
    ProtocolClient.Reply admin = ProtocolClient.mtls(
            issuer.url(), issuer.authorityCertificate(), ak.getPrivate(), new X509Certificate[] {
              adminCert
            })
        .get("/v1/admin/bots");
    assertThat(admin.status()).isEqualTo(401);
    assertThat(admin.json().get("detail").asText()).doesNotContain("digitalSignature");
  }

  @Test
  void aClientCertificateWithAnExtendedKeyUsageBeyondClientAuthIsRefused() throws Exception {
    KeyPair k = ProtocolClient.ec();
    X509Certificate bot = forgedBot(
        KeyUsage.digitalSignature,
        List.of(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth),
        k);
    ProtocolClient.Reply renewal = ProtocolClient.mtls(
            issuer.url(), issuer.authorityCertificate(), k.getPrivate(), new X509Certificate[] {bot
            })
        .renew(1, ProtocolClient.ec(), null);
    assertThat(renewal.code()).isEqualTo("unauthenticated");
    assertThat(lastFailure("renew").detail().get("reason")).contains("extended key usage");
    assertThat(issuer.instances().find(joined.instanceId()).orElseThrow().generation())
        .isEqualTo(1);

    admin("ops");
    KeyPair ak = ProtocolClient.ec();
    X509Certificate adminCert = forge(
        "admin-ops",
        "spiffe://example.test/admin/ops",
        null,
        KeyUsage.digitalSignature,
        List.of(KeyPurposeId.id_kp_clientAuth, KeyPurposeId.id_kp_serverAuth),
        ak);
    assertThat(ProtocolClient.mtls(
                issuer.url(),
                issuer.authorityCertificate(),
                ak.getPrivate(),
                new X509Certificate[] {adminCert})
            .get("/v1/admin/bots")
            .status())
        .isEqualTo(401);
  }
}
