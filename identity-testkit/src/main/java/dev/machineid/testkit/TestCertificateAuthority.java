package dev.machineid.testkit;

import java.math.BigInteger;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/**
 * An in-memory certificate authority for tests: an EC P-256 root whose key never leaves the
 * process, issuing server certificates (for HTTPS fixtures such as {@link MtlsServer}) and
 * client certificates (for negative tests: a certificate from a CA the server does not trust,
 * an expired certificate, a rotated identity).
 *
 * <pre>{@code
 * try (TestCertificateAuthority ca = TestCertificateAuthority.create("test root")) {
 *     TestCertificateAuthority.Issued server = ca.issueServerCertificate(List.of("127.0.0.1", "localhost"));
 *     TestCertificateAuthority.Issued client = ca.issueClientCertificate("client-1", Duration.ofHours(1));
 *     SSLContext clientTls = ca.sslContext(client);   // presents client, trusts only this CA
 * }
 * }</pre>
 *
 * <p>The CA certificate is valid from one minute before its creation for 365 days. Certificates
 * are signed with SHA256withECDSA by the platform's JCA providers; Bouncy Castle is used only to
 * build them and is not registered as a security provider. Times come from the {@link Clock}
 * given to {@link #create(String, Clock)}, so a CA created with a clock in the past issues
 * certificates that have already expired.
 *
 * <p>Instances are thread-safe. {@link #close()} is idempotent; after it, issuing throws
 * {@link IllegalStateException} while {@link #certificate()} and {@link #trustManager()} keep
 * working, so a test may still verify what it issued.
 */
public final class TestCertificateAuthority implements AutoCloseable {

  private static final Duration BACKDATE = Duration.ofMinutes(1);
  private static final Duration CA_VALIDITY = Duration.ofDays(365);
  private static final Duration SERVER_VALIDITY = Duration.ofDays(1);
  private static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";

  private final Clock clock;
  private final SecureRandom random = new SecureRandom();
  private final KeyPair keyPair;
  private final X509Certificate certificate;
  private final AtomicBoolean closed = new AtomicBoolean();

  private TestCertificateAuthority(Clock clock, KeyPair keyPair, X509Certificate certificate) {
    this.clock = clock;
    this.keyPair = keyPair;
    this.certificate = certificate;
  }

  /**
   * Creates a CA with a new P-256 key and a self-signed certificate whose subject is
   * {@code CN=<commonName>}, using the system clock.
   *
   * @param commonName the CA's common name; not blank
   * @return the new CA
   * @throws IllegalArgumentException if {@code commonName} is blank
   */
  public static TestCertificateAuthority create(String commonName) {
    return create(commonName, Clock.systemUTC());
  }

  /**
   * Creates a CA whose certificates are dated by {@code clock}.
   *
   * @param commonName the CA's common name; not blank
   * @param clock the source of "now" for this CA and everything it issues
   * @return the new CA
   * @throws IllegalArgumentException if {@code commonName} is blank
   */
  public static TestCertificateAuthority create(String commonName, Clock clock) {
    Objects.requireNonNull(commonName, "commonName");
    Objects.requireNonNull(clock, "clock");
    requireNotBlank(commonName, "commonName");
    KeyPair keyPair = newKeyPair();
    X500Name subject = name(commonName);
    Instant now = clock.instant();
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
              subject,
              serial(new SecureRandom()),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(CA_VALIDITY)),
              subject,
              keyPair.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
          .addExtension(
              Extension.keyUsage,
              true,
              new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature))
          .addExtension(
              Extension.subjectKeyIdentifier,
              false,
              extensions.createSubjectKeyIdentifier(keyPair.getPublic()));
      X509Certificate certificate = sign(builder, keyPair.getPrivate());
      return new TestCertificateAuthority(clock, keyPair, certificate);
    } catch (GeneralSecurityException | org.bouncycastle.cert.CertIOException e) {
      throw new IllegalStateException("could not create test CA '" + commonName + "': " + e, e);
    }
  }

  /** The CA's key pair, for fixtures of this package that sign with it (the {@link FakeIssuer}). */
  KeyPair keyPair() {
    return keyPair;
  }

  /** @return this CA's self-signed certificate */
  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * Issues a server certificate for {@code hostNames}, valid for one day from one minute ago.
   *
   * <p>Entries that are literal IPv4 or IPv6 addresses become IP-address subject alternative
   * names, every other entry a DNS name; no name is resolved. The subject is
   * {@code CN=<first host name>}, the extended key usage is {@code serverAuth}, and the key is a
   * new P-256 key.
   *
   * @param hostNames at least one host name or IP address, e.g. {@code List.of("127.0.0.1")}
   * @return the key, the certificate and the chain (certificate, this CA)
   * @throws IllegalArgumentException if {@code hostNames} is empty or holds a blank entry
   * @throws IllegalStateException if this CA is closed
   */
  public Issued issueServerCertificate(List<String> hostNames) {
    Objects.requireNonNull(hostNames, "hostNames");
    if (hostNames.isEmpty()) {
      throw new IllegalArgumentException(
          "hostNames is empty: give at least one DNS name or IP address, e.g. 127.0.0.1");
    }
    GeneralName[] sans = new GeneralName[hostNames.size()];
    for (int i = 0; i < sans.length; i++) {
      String host = Objects.requireNonNull(hostNames.get(i), "hostNames[" + i + "]");
      requireNotBlank(host, "hostNames[" + i + "]");
      sans[i] = IPAddress.isValid(host)
          ? new GeneralName(GeneralName.iPAddress, host)
          : new GeneralName(GeneralName.dNSName, host);
    }
    return issue(
        hostNames.get(0), SERVER_VALIDITY, KeyPurposeId.id_kp_serverAuth, new GeneralNames(sans));
  }

  /**
   * Issues a client certificate with subject {@code CN=<commonName>}, extended key usage
   * {@code clientAuth}, valid from one minute ago until {@code ttl} from now.
   *
   * @param commonName the client's common name; not blank
   * @param ttl how long from now the certificate stays valid; positive
   * @return the key, the certificate and the chain (certificate, this CA)
   * @throws IllegalArgumentException if {@code commonName} is blank or {@code ttl} not positive
   * @throws IllegalStateException if this CA is closed
   */
  public Issued issueClientCertificate(String commonName, Duration ttl) {
    Objects.requireNonNull(commonName, "commonName");
    Objects.requireNonNull(ttl, "ttl");
    requireNotBlank(commonName, "commonName");
    if (ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("ttl must be positive but was " + ttl
          + "; for an expired certificate create the CA with a Clock in the past");
    }
    return issue(commonName, ttl, KeyPurposeId.id_kp_clientAuth, null);
  }

  /**
   * Returns a trust manager that trusts exactly this CA (PKIX validation, no revocation
   * checking). It checks host names when used with an {@code SSLEngine} or {@code SSLSocket}
   * whose endpoint identification algorithm is set.
   *
   * @return a new trust manager
   */
  public X509ExtendedTrustManager trustManager() {
    return trustManagerFor(List.of(certificate));
  }

  /**
   * Returns a new TLS {@link SSLContext} that presents {@code identity} and trusts only this
   * CA. It serves either side: a server presenting a server certificate, or a client
   * presenting a client certificate.
   *
   * @param identity a certificate issued by this (or any) CA, with its key
   * @return a new, initialised context
   */
  public SSLContext sslContext(Issued identity) {
    Objects.requireNonNull(identity, "identity");
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(
          new KeyManager[] {identity.keyManager()}, new TrustManager[] {trustManager()}, null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("could not build an SSLContext: " + e, e);
    }
  }

  /**
   * Marks this CA closed: further certificates cannot be issued. Idempotent.
   */
  @Override
  public void close() {
    closed.set(true);
  }

  @Override
  public String toString() {
    return "TestCertificateAuthority[" + certificate.getSubjectX500Principal().getName() + "]";
  }

  private Issued issue(
      String commonName, Duration validity, KeyPurposeId purpose, GeneralNames sans) {
    if (closed.get()) {
      throw new IllegalStateException(
          "TestCertificateAuthority " + certificate.getSubjectX500Principal().getName()
              + " is closed; create a new one to issue certificates");
    }
    KeyPair leafKeys = newKeyPair();
    Instant now = clock.instant();
    try {
      JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(
              certificate,
              serial(random),
              Date.from(now.minus(BACKDATE)),
              Date.from(now.plus(validity)),
              name(commonName),
              leafKeys.getPublic())
          .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
          .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
          .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose))
          .addExtension(
              Extension.subjectKeyIdentifier,
              false,
              extensions.createSubjectKeyIdentifier(leafKeys.getPublic()))
          .addExtension(
              Extension.authorityKeyIdentifier,
              false,
              extensions.createAuthorityKeyIdentifier(certificate));
      if (sans != null) {
        builder.addExtension(Extension.subjectAlternativeName, false, sans);
      }
      X509Certificate leaf = sign(builder, keyPair.getPrivate());
      return new Issued(leafKeys, leaf, List.of(leaf, certificate));
    } catch (GeneralSecurityException | org.bouncycastle.cert.CertIOException e) {
      throw new IllegalStateException(
          "could not issue a certificate for '" + commonName + "': " + e, e);
    }
  }

  static X509ExtendedTrustManager trustManagerFor(List<X509Certificate> anchors) {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      store.load(null, null);
      int i = 0;
      for (X509Certificate anchor : anchors) {
        store.setCertificateEntry("ca-" + i++, anchor);
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance("PKIX");
      factory.init(store);
      for (TrustManager manager : factory.getTrustManagers()) {
        if (manager instanceof X509ExtendedTrustManager) {
          return (X509ExtendedTrustManager) manager;
        }
      }
      throw new IllegalStateException(
          "the PKIX TrustManagerFactory returned no X509ExtendedTrustManager");
    } catch (GeneralSecurityException | java.io.IOException e) {
      throw new IllegalStateException("could not build a trust manager: " + e, e);
    }
  }

  private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      ContentSigner contentSigner = new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(signer);
      return new JcaX509CertificateConverter().getCertificate(builder.build(contentSigner));
    } catch (org.bouncycastle.operator.OperatorCreationException e) {
      throw new GeneralSecurityException(
          "could not create a " + SIGNATURE_ALGORITHM + " signer", e);
    }
  }

  private static KeyPair newKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JVM cannot generate EC P-256 keys: " + e, e);
    }
  }

  /** A positive 127-bit serial: unique in practice and within RFC 5280's 20 octets. */
  private static BigInteger serial(SecureRandom random) {
    return new BigInteger(127, random).setBit(126);
  }

  private static X500Name name(String commonName) {
    return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
  }

  private static void requireNotBlank(String value, String what) {
    if (value.isBlank()) {
      throw new IllegalArgumentException(what + " is blank");
    }
  }

  /**
   * A certificate issued by a {@link TestCertificateAuthority}, with its key pair.
   *
   * @param keyPair the certificate's key pair
   * @param certificate the issued (leaf) certificate
   * @param chain the chain to present: {@code certificate} first, then the issuing CA
   */
  public record Issued(KeyPair keyPair, X509Certificate certificate, List<X509Certificate> chain) {

    /**
     * @throws IllegalArgumentException if {@code chain} is empty or does not start with
     *     {@code certificate}, or the key pair's public key is not the certificate's
     */
    public Issued {
      Objects.requireNonNull(keyPair, "keyPair");
      Objects.requireNonNull(certificate, "certificate");
      chain = List.copyOf(Objects.requireNonNull(chain, "chain"));
      if (chain.isEmpty() || !chain.get(0).equals(certificate)) {
        throw new IllegalArgumentException("chain must start with the issued certificate");
      }
      if (!certificate.getPublicKey().equals(keyPair.getPublic())) {
        throw new IllegalArgumentException("keyPair does not belong to the certificate "
            + certificate.getSubjectX500Principal().getName());
      }
    }

    /** @return the certificate's private key */
    public PrivateKey privateKey() {
      return keyPair.getPrivate();
    }

    /** @return a new array holding {@link #chain()}, as {@code KeyManager}s and {@code KeyStore}s want it */
    public X509Certificate[] chainArray() {
      return chain.toArray(new X509Certificate[0]);
    }

    /**
     * Returns a key manager that always presents this certificate. The key is held in memory
     * (no key store, no per-handshake key derivation), so handshakes stay cheap.
     *
     * @return a new key manager
     */
    public X509ExtendedKeyManager keyManager() {
      return new FixedKeyManager(privateKey(), chainArray());
    }

    @Override
    public String toString() {
      return "Issued[" + certificate.getSubjectX500Principal().getName() + ", serial "
          + certificate.getSerialNumber().toString(16) + "]";
    }
  }

  /** Presents one in-memory key and chain, whatever the peer asks for. */
  static final class FixedKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "identity";
    private final PrivateKey key;
    private final X509Certificate[] chain;

    FixedKeyManager(PrivateKey key, X509Certificate[] chain) {
      this.key = Objects.requireNonNull(key, "key");
      this.chain = chain.clone();
      if (this.chain.length == 0) {
        throw new IllegalArgumentException("chain is empty");
      }
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return matches(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
      return chooseClient(keyTypes);
    }

    @Override
    public String chooseEngineClientAlias(
        String[] keyTypes, Principal[] issuers, SSLEngine engine) {
      return chooseClient(keyTypes);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return matches(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return matches(keyType) ? ALIAS : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return matches(keyType) ? ALIAS : null;
    }

    /** Issuers are ignored on purpose: a test may want to present a certificate the peer will reject. */
    private String chooseClient(String[] keyTypes) {
      if (keyTypes != null) {
        for (String keyType : keyTypes) {
          if (matches(keyType)) {
            return ALIAS;
          }
        }
      }
      return null;
    }

    private boolean matches(String keyType) {
      return keyType != null && keyType.equalsIgnoreCase(key.getAlgorithm());
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return ALIAS.equals(alias) ? key : null;
    }
  }
}
