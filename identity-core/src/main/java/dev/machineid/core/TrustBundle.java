package dev.machineid.core;

import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * The issuer's authorities as this client accepted them over the pinned connection: what a service
 * needs to trust the certificates the issuer signs (a peer's bot identity, a database server, an
 * SVID) and to configure tools (SSH {@code known_hosts}, JWT-SVID validation). One authority per
 * purpose; each list may hold several keys during a rotation.
 *
 * @param trustDomain the SPIFFE trust domain
 * @param x509Authorities the issuer authority (signs bot identities and the issuer's TLS
 *     certificate), only the members the CA pins vouch for
 * @param spiffeAuthorities signs X509-SVIDs
 * @param databaseClientAuthorities signs database client certificates
 * @param databaseServerAuthorities signs database server certificates
 * @param kubernetesClientAuthorities signs Kubernetes client certificates
 * @param sshUserAuthorities SSH user CA keys, one {@code authorized_keys} line each
 * @param sshHostAuthorities SSH host CA keys, one {@code authorized_keys} line each
 * @param jwks the JWT-SVID signing keys as a JWKS JSON document, or null if the issuer sent none
 */
public record TrustBundle(
    String trustDomain,
    List<X509Certificate> x509Authorities,
    List<X509Certificate> spiffeAuthorities,
    List<X509Certificate> databaseClientAuthorities,
    List<X509Certificate> databaseServerAuthorities,
    List<X509Certificate> kubernetesClientAuthorities,
    List<String> sshUserAuthorities,
    List<String> sshHostAuthorities,
    String jwks) {

  /** Copies every list; a null list is empty. */
  public TrustBundle {
    x509Authorities = copy(x509Authorities);
    spiffeAuthorities = copy(spiffeAuthorities);
    databaseClientAuthorities = copy(databaseClientAuthorities);
    databaseServerAuthorities = copy(databaseServerAuthorities);
    kubernetesClientAuthorities = copy(kubernetesClientAuthorities);
    sshUserAuthorities = copy(sshUserAuthorities);
    sshHostAuthorities = copy(sshHostAuthorities);
  }

  private static <T> List<T> copy(List<T> list) {
    return list == null ? List.of() : List.copyOf(list);
  }

  /** The CA pins ({@code sha256:…}) of the issuer authorities, as {@code issuer status} prints them. */
  public List<CaPin> pins() {
    return x509Authorities.stream().map(CaPin::of).toList();
  }

  /** The JWKS document, if the issuer sent one. */
  public Optional<String> jwksJson() {
    return Optional.ofNullable(jwks);
  }

  /** The trust domain and how many keys each authority holds; no key material. */
  @Override
  public String toString() {
    return "TrustBundle[trustDomain=" + trustDomain + ", x509=" + x509Authorities.size()
        + ", spiffe="
        + spiffeAuthorities.size() + ", databaseClient=" + databaseClientAuthorities.size()
        + ", databaseServer="
        + databaseServerAuthorities.size() + ", kubernetesClient="
        + kubernetesClientAuthorities.size() + ", sshUser="
        + sshUserAuthorities.size() + ", sshHost=" + sshHostAuthorities.size() + ", jwks="
        + (jwks != null) + "]";
  }
}
