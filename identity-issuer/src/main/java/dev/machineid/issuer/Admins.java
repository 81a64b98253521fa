package dev.machineid.issuer;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The admins allowed on {@code /v1/admin/...} ({@link Issuer#admins()}) and their client
 * certificates: recording, removing, issuing, renewing and refusing them. Each change commits with
 * its audit event. The Java API, {@code issuer serve} and the admin HTTP API call the same service.
 * Implemented by the issuer; not for implementing.
 */
public interface Admins {

  /**
   * What {@link #sync} changed.
   *
   * @param added names recorded
   * @param removed names removed
   */
  record Changes(List<String> added, List<String> removed) {
    public Changes {
      added = List.copyOf(added);
      removed = List.copyOf(removed);
    }
  }

  /** Records an admin allowed on {@code /v1/admin/...}; returns the existing record if there is one. */
  AdminIdentity add(String name);

  /** Every recorded admin. */
  List<AdminIdentity> list();

  /**
   * Removes an admin, with its audit event: its certificates are refused by the admin API at once
   * (a renewal in flight is refused unless it committed first), and stay refused if the name is
   * added again later.
   *
   * @return false if no admin of that name is recorded
   */
  boolean remove(String name);

  /**
   * Makes the recorded admins exactly {@code names} (the {@code admins:} of {@code issuer.yaml}):
   * records those missing and removes the others, each with its audit event. {@code issuer serve}
   * calls it at every start.
   *
   * @throws IllegalArgumentException for an invalid name or an empty list (no one could administer
   *     the issuer)
   */
  Changes sync(Collection<String> names);

  /**
   * Why the admin API refuses {@code certificate}, already verified as admin {@code name}'s, at this
   * moment; empty if it accepts it. The admin must be recorded and not removed, the certificate must
   * not predate the record's {@link AdminIdentity#notBefore()} (a removed admin's certificates stay
   * refused when the name is added again), and no active serial lock may name the certificate or the
   * one it was renewed from.
   */
  Optional<String> refusal(String name, X509Certificate certificate);

  /**
   * Signs an admin client certificate ({@code CN=admin-<name>}, {@code spiffe://<td>/admin/<name>})
   * for {@code key}, recording the admin first if needed. At most 24 h.
   */
  X509Certificate issueCertificate(String name, PublicKey key, Duration ttl);

  /**
   * Self-renewal of an admin certificate ({@code /v1/admin/renew}): a new certificate for
   * {@code key}, at most 24 h, marked as renewed from {@code presented}, so that a lock on the
   * presented certificate refuses the new one too. A certificate made this way cannot renew again
   * (a fresh one needs the authority key: {@code issuer admin reissue}), so self-renewal extends
   * an operator-issued certificate once; and the admin's record is re-checked in the transaction
   * that records the issuance, so a removal or lock committed first wins.
   *
   * @throws SecurityException if the admin or the presented certificate is refused
   */
  X509Certificate renewCertificate(
      String name, X509Certificate presented, PublicKey key, Duration ttl);
}
