package dev.machineid.core.internal.renewal;

import dev.machineid.core.protocol.Authority;
import dev.machineid.core.protocol.Pem;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * The issuer's trust bundle, parsed once per document. {@code x509} holds only the authorities the
 * CA pins vouch for; the other lists arrived over the same pinned connection.
 */
public record AuthoritySnapshot(
    Authority document,
    List<X509Certificate> x509,
    List<X509Certificate> spiffe,
    List<X509Certificate> databaseClient,
    List<X509Certificate> databaseServer,
    List<X509Certificate> kubernetesClient) {

  public static AuthoritySnapshot of(Authority doc, List<X509Certificate> verifiedX509) {
    return new AuthoritySnapshot(
        doc,
        List.copyOf(verifiedX509),
        parse(doc == null ? null : doc.spiffeAuthorities()),
        parse(doc == null ? null : doc.databaseClientAuthorities()),
        parse(doc == null ? null : doc.databaseServerAuthorities()),
        parse(doc == null ? null : doc.kubernetesClientAuthorities()));
  }

  private static List<X509Certificate> parse(List<String> pems) {
    List<X509Certificate> out = new ArrayList<>();
    if (pems != null) {
      for (String p : pems) {
        out.addAll(Pem.certificates(p));
      }
    }
    return List.copyOf(out);
  }
}
