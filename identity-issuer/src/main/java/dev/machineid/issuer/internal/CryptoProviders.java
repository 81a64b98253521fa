package dev.machineid.issuer.internal;

import java.security.Provider;
import java.security.Security;
import java.util.Locale;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Selects the crypto provider of a server process ({@code crypto_provider}): {@code jdk} (the
 * JDK's own, default); {@code bouncycastle}, which signs certificates (it cannot be preferred
 * JVM-wide: its XDH keys break the JDK's TLS); or {@code accp} (Amazon Corretto Crypto Provider,
 * native, installed at position 1 so that signing and TLS use it; where its library does not load
 * the JDK's providers stay in use with a warning).
 */
public final class CryptoProviders {
  private static final Logger LOG = LoggerFactory.getLogger(CryptoProviders.class);
  private static final String ACCP = "com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider";

  private CryptoProviders() {}

  /**
   * @return the name of the provider now preferred for EC signatures
   * @throws IllegalArgumentException for an unknown setting
   */
  public static String install(String setting) {
    String s = setting == null ? "jdk" : setting.trim().toLowerCase(Locale.ROOT);
    switch (s) {
      case "jdk" -> CertificateAuthority.useSignatureProvider(null);
      case "bouncycastle", "bc" -> {
        // Added last and named for certificate signing only: preferred JVM-wide, its XDH key
        // shares break the JDK's TLS (BCXDHPublicKey is not an XECPublicKey).
        if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
          Security.addProvider(new BouncyCastleProvider());
        }
        CertificateAuthority.useSignatureProvider(BouncyCastleProvider.PROVIDER_NAME);
        LOG.info("crypto provider setting 'bouncycastle': certificates are signed by BC; TLS keeps the JDK's providers");
        return BouncyCastleProvider.PROVIDER_NAME;
      }
      case "accp", "corretto" -> {
        try {
          Class<?> c = Class.forName(ACCP);
          Provider p = (Provider) c.getField("INSTANCE").get(null);
          Throwable failure = (Throwable) c.getMethod("getLoadingError").invoke(p);
          if (failure != null) {
            LOG.warn("the Amazon Corretto Crypto Provider did not load ({}); using the JDK's providers", failure.toString());
          } else {
            c.getMethod("install").invoke(null);
            CertificateAuthority.useSignatureProvider(null);
          }
        } catch (ReflectiveOperationException | LinkageError e) {
          LOG.warn(
              "crypto_provider accp: the Amazon Corretto Crypto Provider is not on the class path or cannot load here ({}); using the JDK's providers",
              e.toString());
        }
      }
      default -> throw new IllegalArgumentException("crypto_provider must be jdk, bouncycastle or accp, got '" + setting + "'");
    }
    String active;
    try {
      active = java.security.Signature.getInstance("SHA256withECDSA").getProvider().getName();
    } catch (java.security.GeneralSecurityException e) {
      active = "none";
    }
    LOG.info("crypto provider setting '{}': SHA256withECDSA from {}, providers {}", s, active, providerNames());
    return active;
  }

  private static String providerNames() {
    StringBuilder sb = new StringBuilder();
    for (Provider p : Security.getProviders()) {
      if (sb.length() > 0) {
        sb.append(',');
      }
      sb.append(p.getName());
      if (sb.length() > 120) {
        sb.append(",...");
        break;
      }
    }
    return sb.toString();
  }
}
