package dev.machineid.issuer.internal.authority;

import java.security.Provider;
import java.util.Locale;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Selects the provider that signs certificates in a server process ({@code crypto_provider}):
 * {@code jdk} (the JDK's own, default); {@code bouncycastle}; or {@code accp} (the Amazon Corretto
 * Crypto Provider, native; where its library does not load the JDK's providers stay in use with a
 * warning). The chosen provider is used by instance for certificate signing only and is never
 * registered JVM-wide ({@code Security.addProvider}): registering Bouncy Castle would let
 * {@code KeyFactory} fall back to it for keys the JDK refuses, and its XDH keys break the JDK's
 * TLS. Parsing and verifying the keys clients send ({@link Keys}) and TLS always use the JDK's
 * providers, so they behave the same whatever this setting says.
 */
public final class CryptoProviders {
  private static final Logger LOG = LoggerFactory.getLogger(CryptoProviders.class);
  private static final String ACCP =
      "com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider";

  private CryptoProviders() {}

  /**
   * Makes {@code setting} the provider that signs certificates from now on.
   *
   * @return the name of the provider that now signs certificates
   * @throws IllegalArgumentException for an unknown setting
   */
  public static String install(String setting) {
    String s = setting == null ? "jdk" : setting.trim().toLowerCase(Locale.ROOT);
    Provider chosen =
        switch (s) {
          case "jdk" -> null;
          case "bouncycastle", "bc" -> new BouncyCastleProvider();
          case "accp", "corretto" -> accp();
          default ->
            throw new IllegalArgumentException(
                "crypto_provider must be jdk, bouncycastle or accp, got '" + setting + "'");
        };
    CertificateAuthority.useSignatureProvider(chosen);
    String active;
    if (chosen != null) {
      active = chosen.getName();
    } else {
      try {
        active =
            java.security.Signature.getInstance("SHA256withECDSA").getProvider().getName();
      } catch (java.security.GeneralSecurityException e) {
        active = "none";
      }
    }
    LOG.info(
        "crypto provider setting '{}': SHA256withECDSA from {}; certificates are signed by {} (by instance, not registered JVM-wide); key checks, signature verification and TLS use the JDK's providers",
        s,
        active,
        active);
    return active;
  }

  /** The Amazon Corretto Crypto Provider's instance, or {@code null} with a warning where it cannot load. */
  private static Provider accp() {
    try {
      Class<?> c = Class.forName(ACCP);
      Provider p = (Provider) c.getField("INSTANCE").get(null);
      Throwable failure = (Throwable) c.getMethod("getLoadingError").invoke(p);
      if (failure != null) {
        LOG.warn(
            "the Amazon Corretto Crypto Provider did not load ({}); using the JDK's providers",
            failure.toString());
        return null;
      }
      return p;
    } catch (ReflectiveOperationException | LinkageError e) {
      LOG.warn(
          "crypto_provider accp: the Amazon Corretto Crypto Provider is not on the class path or cannot load here ({}); using the JDK's providers",
          e.toString());
      return null;
    }
  }
}
