package dev.machineid.core.internal.renewal;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.machineid.core.TrustBundle;
import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Protocol;

/** Makes the public {@link TrustBundle} from the wire authority document as accepted. */
public final class TrustBundles {
  private TrustBundles() {}

  public static TrustBundle of(AuthoritySnapshot a) {
    Authority doc = a.document();
    String jwks = null;
    if (doc != null && doc.jwks() != null && !doc.jwks().isNull()) {
      try {
        jwks = Protocol.writer().writeValueAsString(doc.jwks());
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(
            "cannot print the issuer's JWKS: " + e.getOriginalMessage(), e);
      }
    }
    return new TrustBundle(
        doc == null ? null : doc.trustDomain(),
        a.x509(),
        a.spiffe(),
        a.databaseClient(),
        a.databaseServer(),
        a.kubernetesClient(),
        doc == null ? null : doc.sshUserAuthorities(),
        doc == null ? null : doc.sshHostAuthorities(),
        jwks);
  }
}
