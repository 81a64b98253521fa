package dev.machineid.issuer.internal.admin;

import dev.machineid.issuer.AdminIdentity;
import dev.machineid.issuer.Admins;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.IssuerStore.LockKey;
import dev.machineid.issuer.Lock;
import dev.machineid.issuer.internal.audit.Auditor;
import dev.machineid.issuer.internal.authority.CertificateAuthority;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Admins} on the store, each change with its audit event in one transaction; admin
 * certificates signed by the issuer authority ({@link AdminCertificates}).
 */
public final class AdminService implements Admins {
  private static final Logger LOG = LoggerFactory.getLogger(AdminService.class);

  private final IssuerStore store;
  private final Auditor audit;
  private final CertificateAuthority authority;
  private final String trustDomain;
  private final Clock clock;
  private final SecureRandom random;
  private final Runnable open;

  /**
   * @param authority the issuer authority, which signs admin certificates
   * @param open throws {@link IllegalStateException} once the issuer is closed
   */
  public AdminService(
      IssuerStore store,
      Auditor audit,
      CertificateAuthority authority,
      String trustDomain,
      Clock clock,
      SecureRandom random,
      Runnable open) {
    this.store = store;
    this.audit = audit;
    this.authority = authority;
    this.trustDomain = trustDomain;
    this.clock = clock;
    this.random = random;
    this.open = open;
  }

  @Override
  public AdminIdentity add(String name) {
    open.run();
    AdminIdentity admin = new AdminIdentity(AdminIdentity.validateName(name), clock.instant());
    boolean inserted = store.inTransaction(tx -> {
      if (!tx.insertAdmin(admin)) {
        return false;
      }
      audit.success(tx, "admin.added", null, null, Map.of("admin", name));
      return true;
    });
    if (inserted) {
      return admin;
    }
    return store.findAdmin(name).orElse(admin);
  }

  @Override
  public List<AdminIdentity> list() {
    open.run();
    return store.admins();
  }

  @Override
  public boolean remove(String name) {
    open.run();
    Objects.requireNonNull(name, "name");
    Instant now = clock.instant();
    boolean removed = store.inTransaction(tx -> {
      if (!tx.removeAdmin(name, now)) {
        return false;
      }
      audit.success(tx, "admin.removed", null, null, Map.of("admin", name));
      return true;
    });
    if (removed) {
      LOG.warn("admin '{}' removed; its certificates are refused from now on", name);
    }
    return removed;
  }

  @Override
  public Changes sync(Collection<String> names) {
    open.run();
    Objects.requireNonNull(names, "names");
    Set<String> wanted = new TreeSet<>();
    for (String n : names) {
      wanted.add(AdminIdentity.validateName(n));
    }
    if (wanted.isEmpty()) {
      throw new IllegalArgumentException(
          "the admin list must name at least one admin; otherwise no one could administer the issuer");
    }
    List<String> added = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    for (AdminIdentity a : store.admins()) {
      if (!wanted.contains(a.name()) && remove(a.name())) {
        removed.add(a.name());
      }
    }
    Set<String> present = new HashSet<>();
    store.admins().forEach(a -> present.add(a.name()));
    for (String n : wanted) {
      if (!present.contains(n)) {
        add(n);
        added.add(n);
      }
    }
    return new Changes(added, removed);
  }

  @Override
  public Optional<String> refusal(String name, X509Certificate certificate) {
    open.run();
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(certificate, "certificate");
    return refusal(store, name, certificate, clock.instant());
  }

  private static Optional<String> refusal(
      IssuerStore s, String name, X509Certificate certificate, Instant now) {
    Optional<AdminIdentity> admin = s.findAdmin(name);
    if (admin.isEmpty()) {
      return Optional.of(
          "admin '" + name + "' is not recorded in the store (never added, or removed)");
    }
    Instant notBefore = admin.get().notBefore();
    // strictly: the instant the issuer signed it (its mark), or notBefore for other tooling's
    // certificates
    Instant issued = AdminCertificates.issuedAt(certificate);
    if (notBefore != null && issued.isBefore(notBefore)) {
      return Optional.of("the certificate was issued at " + issued + ", before admin '" + name
          + "' was recorded again at " + notBefore + " (it belonged to the removed admin)");
    }
    List<LockKey> keys = new ArrayList<>();
    keys.add(new LockKey(Lock.Target.SERIAL, CertificateAuthority.serialHex(certificate)));
    AdminCertificates.renewedFrom(certificate)
        .ifPresent(from -> keys.add(new LockKey(Lock.Target.SERIAL, from)));
    List<Lock> locks = s.findActiveLocks(keys, now);
    if (!locks.isEmpty()) {
      Lock l = locks.get(0);
      return Optional.of(
          "locked by lock " + l.id() + " on serial " + l.value() + ": " + l.reason());
    }
    return Optional.empty();
  }

  @Override
  public X509Certificate issueCertificate(String name, PublicKey key, Duration ttl) {
    open.run();
    add(name);
    X509Certificate cert =
        AdminCertificates.issue(authority, trustDomain, name, key, clock.instant(), ttl, random);
    audit.success(
        "admin.certificate",
        null,
        null,
        Map.of(
            "admin", name, "serial", cert.getSerialNumber().toString(16), "ttl", ttl.toString()));
    return cert;
  }

  @Override
  public X509Certificate renewCertificate(
      String name, X509Certificate presented, PublicKey key, Duration ttl) {
    open.run();
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(presented, "presented");
    Objects.requireNonNull(key, "key");
    if (AdminCertificates.isRenewed(presented)) {
      throw new SecurityException(
          "an admin certificate made by self-renewal cannot renew again; issue a fresh one with the authority key ('issuer admin reissue')");
    }
    Instant now = clock.instant();
    String from = CertificateAuthority.serialHex(presented);
    X509Certificate cert =
        AdminCertificates.renew(authority, trustDomain, name, from, key, now, ttl, random);
    store.inTransaction(tx -> {
      tx.awaitRevocations();
      Optional<String> refusal = refusal(tx, name, presented, now);
      if (refusal.isPresent()) {
        throw new SecurityException(refusal.get());
      }
      audit.success(
          tx,
          "admin.certificate",
          null,
          null,
          Map.of(
              "admin",
              name,
              "serial",
              cert.getSerialNumber().toString(16),
              "ttl",
              ttl.toString(),
              "renewed_from",
              from));
      return null;
    });
    return cert;
  }
}
