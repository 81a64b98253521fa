package dev.machineid.core;

import java.util.Locale;

/** The kinds of role-scoped credential (docs/architecture.md §4 {@code kind}). */
public enum CredentialKind {
  /** An X509-SVID with the bot's SPIFFE ID, for service-to-service mTLS. */
  APPLICATION,
  /** A client certificate whose CN is a database user the roles allow. */
  DATABASE,
  /** A client certificate for kube-apiserver: CN = user, O = groups. */
  KUBERNETES,
  /** An OpenSSH user certificate with the roles' logins as principals. */
  SSH_USER,
  /** An OpenSSH host certificate for host names within the roles' globs. */
  SSH_HOST,
  /** A JWT-SVID for the requested audiences. */
  JWT_SVID,
  /**
   * A role-scoped identity credential: a certificate naming the bot for the relying parties it is
   * handed to, carrying the requested roles. It is not the bot identity: the issuer refuses it for
   * renewals, credentials and heartbeats (the {@code identity} output writes the bot identity itself).
   */
  IDENTITY;

  /** The wire name, e.g. {@code ssh_user}. */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** True for kinds answered with an X.509 chain and a private key. */
  public boolean isX509() {
    return this == APPLICATION || this == DATABASE || this == KUBERNETES || this == IDENTITY;
  }

  /** True for kinds answered with an OpenSSH certificate. */
  public boolean isSsh() {
    return this == SSH_USER || this == SSH_HOST;
  }

  public static CredentialKind parse(String text) {
    String t = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (CredentialKind k : values()) {
      if (k.name().equals(t)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "unknown credential kind '" + text + "'; one of application, database, "
            + "kubernetes, ssh_user, ssh_host, jwt_svid, identity");
  }
}
