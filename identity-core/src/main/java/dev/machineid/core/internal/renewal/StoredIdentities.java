package dev.machineid.core.internal.renewal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.IdentityResponse;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.core.storage.StoredIdentity;

/** Maps the issuer's answer on the wire to the public stored form and back, without loss. */
final class StoredIdentities {
  private StoredIdentities() {}

  static StoredIdentity.Issued issued(IdentityResponse c) {
    Authority a = c.authority();
    return new StoredIdentity.Issued(
        c.bot(),
        c.instanceId(),
        c.generation(),
        c.certificateChain(),
        c.sshCertificate(),
        c.notAfter(),
        c.renewAfter(),
        c.serverTime(),
        a == null
            ? null
            : new StoredIdentity.Authorities(
                a.trustDomain(),
                a.x509Authorities(),
                a.spiffeAuthorities(),
                a.databaseClientAuthorities(),
                a.databaseServerAuthorities(),
                a.kubernetesClientAuthorities(),
                a.sshUserAuthorities(),
                a.sshHostAuthorities(),
                json(a)));
  }

  /** The stored form as the issuer's answer; a JWKS that is not JSON is refused with an {@link IllegalArgumentException}. */
  static IdentityResponse credentials(StoredIdentity.Issued i) {
    StoredIdentity.Authorities a = i.authorities();
    Authority authority;
    try {
      authority = a == null
          ? null
          : new Authority(
              a.trustDomain(),
              a.x509Authorities(),
              a.spiffeAuthorities(),
              a.databaseClientAuthorities(),
              a.databaseServerAuthorities(),
              a.kubernetesClientAuthorities(),
              a.sshUserAuthorities(),
              a.sshHostAuthorities(),
              a.jwksJson() == null ? null : Protocol.reader().readTree(a.jwksJson()));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "the stored identity's JWKS is not JSON: " + e.getOriginalMessage(), e);
    }
    return new IdentityResponse(
        i.bot(),
        i.instanceId(),
        i.generation(),
        i.certificateChain(),
        i.sshCertificate(),
        i.notAfter(),
        i.renewAfter(),
        i.serverTime(),
        authority);
  }

  private static String json(Authority a) {
    try {
      return a.jwks() == null ? null : Protocol.writer().writeValueAsString(a.jwks());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a JSON tree", e);
    }
  }
}
