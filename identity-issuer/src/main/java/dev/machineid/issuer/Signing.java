package dev.machineid.issuer;

import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * Certificates for targets, signed by the purpose authorities ({@link Issuer#signing()};
 * {@code issuer sign}): database servers and SSH hosts, with their own longer lifetime, at most
 * {@link #maxTtl()}. Each issuance is audited. The Java API and the admin HTTP API
 * ({@code /v1/admin/sign}) call the same service. Implemented by the issuer; not for
 * implementing.
 */
public interface Signing {

  /**
   * A database server certificate: signed by the {@code database_server} authority, EKU
   * serverAuth, SANs from {@code hostNames}, so clients can use {@code verify-full}.
   *
   * @return the chain, leaf first, then the database server authority
   */
  List<X509Certificate> databaseServer(PublicKey key, List<String> hostNames, Duration ttl);

  /**
   * An OpenSSH host certificate from the {@code ssh_host} authority, for an
   * {@code authorized_keys}-format public key; principals are the host names.
   */
  String sshHost(String sshPublicKey, List<String> hostNames, Duration ttl);

  /** Longest lifetime of a certificate signed here ({@link Issuer.Builder#signMaxTtl}). */
  Duration maxTtl();
}
