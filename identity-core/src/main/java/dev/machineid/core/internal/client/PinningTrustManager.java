package dev.machineid.core.internal.client;

import dev.machineid.core.CaPin;
import dev.machineid.core.internal.tls.Tls;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts the issuer's TLS chain only if it is valid and chains to a certificate whose
 * SubjectPublicKeyInfo matches a CA pin, to a configured CA certificate, or to an authority already
 * verified against those, and whose leaf names the host the client connected to (JSSE checks
 * host names only for its own trust managers, never for a custom one, so this one does it during the
 * handshake, before any request is sent).
 */
public final class PinningTrustManager extends X509ExtendedTrustManager {
  private final List<CaPin> pins;
  private final List<X509Certificate> caFile;
  private final boolean insecure;
  private final Clock clock;
  private final AtomicReference<List<X509Certificate>> verifiedAuthorities =
      new AtomicReference<>(List.of());

  public PinningTrustManager(
      List<CaPin> pins, List<X509Certificate> caFile, boolean insecure, Clock clock) {
    this.pins = List.copyOf(pins);
    this.caFile = List.copyOf(caFile);
    this.insecure = insecure;
    this.clock = clock;
  }

  /**
   * The members of {@code authorities} that are CA certificates (basic constraints CA, key usage
   * {@code keyCertSign}) and match a pin, are a configured CA, or are signed by a pinned or configured
   * certificate or by an authority already installed with {@link #trust}; the rest are ignored. A
   * leaf signed by the pinned authority (a bot identity) is never accepted. Changes nothing: the
   * caller installs the result with {@link #trust} once the answer that carried it is accepted.
   */
  public List<X509Certificate> acceptAuthorities(
      List<X509Certificate> authorities, List<X509Certificate> tlsChain) {
    List<X509Certificate> roots = new ArrayList<>(caFile);
    for (X509Certificate c : tlsChain) {
      if (matchesPin(c) && isCaCertificate(c)) {
        roots.add(c);
      }
    }
    roots.addAll(verifiedAuthorities.get());
    List<X509Certificate> accepted = new ArrayList<>();
    for (X509Certificate a : authorities) {
      if (!isCaCertificate(a) || accepted.contains(a)) {
        continue;
      }
      if (insecure || matchesPin(a) || roots.contains(a) || signedByAny(a, roots)) {
        accepted.add(a);
      }
    }
    return List.copyOf(accepted);
  }

  /**
   * Installs authorities accepted by {@link #acceptAuthorities} from an answer the client kept; they
   * then also anchor the issuer's TLS chain, so a rotation that adds a new key keeps working. Non-CA
   * certificates are dropped.
   */
  public void trust(List<X509Certificate> accepted) {
    List<X509Certificate> cas =
        accepted.stream().filter(PinningTrustManager::isCaCertificate).toList();
    if (!cas.isEmpty()) {
      verifiedAuthorities.set(List.copyOf(cas));
    }
  }

  /** A CA certificate: basic constraints with CA true, and key usage {@code keyCertSign} if key usage is present. */
  public static boolean isCaCertificate(X509Certificate c) {
    if (c.getBasicConstraints() < 0) {
      return false;
    }
    boolean[] ku = c.getKeyUsage();
    return ku == null || (ku.length > 5 && ku[5]);
  }

  public List<X509Certificate> verifiedAuthorities() {
    return verifiedAuthorities.get();
  }

  private boolean matchesPin(X509Certificate c) {
    for (CaPin p : pins) {
      if (p.matches(c)) {
        return true;
      }
    }
    return false;
  }

  private static boolean signedByAny(X509Certificate cert, List<X509Certificate> roots) {
    for (X509Certificate r : roots) {
      try {
        if (cert.getIssuerX500Principal().equals(r.getSubjectX500Principal())) {
          cert.verify(r.getPublicKey());
          return true;
        }
      } catch (Exception ignored) {
        // not this one
      }
    }
    return false;
  }

  private void check(X509Certificate[] chain) throws CertificateException {
    if (insecure) {
      return;
    }
    checkPinned(chain);
  }

  /** The issuer's chain does not reach a pin: a wrong pin or another server, never fixed by retrying. */
  public static final class PinMismatchException extends CertificateException {
    private static final long serialVersionUID = 1L;

    PinMismatchException(String message) {
      super(message);
    }
  }

  /** The issuer's certificate does not name the host the client connected to. */
  public static final class HostMismatchException extends CertificateException {
    private static final long serialVersionUID = 1L;
    private final String host;

    HostMismatchException(String host, X509Certificate leaf) {
      super((leaf == null
              ? "the certificate"
              : "the certificate " + leaf.getSubjectX500Principal().getName())
          + " does not name host '" + host + "'");
      this.host = host;
    }

    public String host() {
      return host;
    }
  }

  private static void checkHost(X509Certificate[] chain, String host) throws CertificateException {
    if (host == null) {
      throw new CertificateException(
          "the connection to the issuer has no host name to check the certificate against");
    }
    if (chain == null || chain.length == 0 || !HostNames.names(chain[0], host)) {
      throw new HostMismatchException(host, chain == null || chain.length == 0 ? null : chain[0]);
    }
  }

  private void checkPinned(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("the issuer presented no certificate");
    }
    Set<X509Certificate> anchors = new LinkedHashSet<>(caFile);
    anchors.addAll(verifiedAuthorities.get());
    for (X509Certificate c : chain) {
      if (matchesPin(c)) {
        anchors.add(c);
      }
    }
    if (anchors.isEmpty()) {
      throw new PinMismatchException(
          "the issuer's TLS certificate does not chain to the configured CA pin " + pinsText()
              + " (the server presented " + describe(chain)
              + "). The issuer answered, but it is not the issuer "
              + "this pin names: compare the pin with the output of 'issuer status' run on the issuer itself "
              + "(never copy a pin from what a server presents), or check that the address reaches the right issuer");
    }
    if (!isServerCertificate(chain[0])) {
      throw new CertificateException(
          "the issuer's TLS certificate " + chain[0].getSubjectX500Principal().getName()
              + " is not a server certificate (no serverAuth extended key usage)");
    }
    try {
      Tls.validate(Arrays.asList(chain), anchors, clock.instant());
    } catch (CertificateException e) {
      throw new CertificateException(
          "the issuer's TLS certificate chain is not valid for CA pin " + pinsText() + ": "
              + e.getMessage(),
          e);
    }
  }

  /** A bot identity (clientAuth only) from the same authority must never pass as the issuer. */
  private static boolean isServerCertificate(X509Certificate leaf) {
    try {
      List<String> eku = leaf.getExtendedKeyUsage();
      return eku == null || eku.contains("1.3.6.1.5.5.7.3.1") || eku.contains("2.5.29.37.0");
    } catch (java.security.cert.CertificateParsingException e) {
      return false;
    }
  }

  private String pinsText() {
    if (pins.isEmpty()) {
      return "(none; CA file only)";
    }
    return pins.stream().map(CaPin::toString).collect(Collectors.joining(", "));
  }

  private static String describe(X509Certificate[] chain) {
    return Arrays.stream(chain)
        .map(c -> c.getSubjectX500Principal().getName())
        .collect(Collectors.joining(" <- "));
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    check(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    check(chain);
    if (socket instanceof javax.net.ssl.SSLSocket ssl && ssl.getHandshakeSession() != null) {
      checkHost(chain, ssl.getHandshakeSession().getPeerHost());
    } else {
      checkHost(chain, null);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    check(chain);
    checkHost(chain, engine == null ? null : engine.getPeerHost());
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    throw new CertificateException("the issuer client does not accept client certificates");
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    List<X509Certificate> all = new ArrayList<>(caFile);
    all.addAll(verifiedAuthorities.get());
    return all.toArray(new X509Certificate[0]);
  }
}
