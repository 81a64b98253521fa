package dev.machineid.core.internal.tls;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Locale;
import java.util.function.Supplier;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * A key manager that serves the newest {@link KeySnapshot} (of the bot identity or a role-scoped credential). The alias it chooses names one snapshot,
 * so the chain and the key of one handshake always come from the same snapshot, even if a rotation
 * happens between the two calls. Past expiry it serves nothing (fail closed).
 */
public final class RotatingKeyManager extends X509ExtendedKeyManager {
  private final Supplier<KeySnapshot> current;
  private final Clock clock;
  /** The snapshot before the current one, so a handshake that chose it just before a swap completes. */
  private volatile KeySnapshot previous;

  public RotatingKeyManager(Supplier<KeySnapshot> current, Clock clock) {
    this.current = current;
    this.clock = clock;
  }

  /** Called on rotation with the snapshot being replaced. */
  public void retire(KeySnapshot old) {
    this.previous = old;
  }

  /** The snapshot a handshake would present now, or null if there is none or it has expired. */
  public KeySnapshot serving() {
    KeySnapshot id = current.get();
    return id == null || id.isExpiredAt(clock.instant()) ? null : id;
  }

  private KeySnapshot byAlias(String alias) {
    if (alias == null) {
      return null;
    }
    KeySnapshot c = current.get();
    if (c != null && alias.equals(c.alias())) {
      return c;
    }
    KeySnapshot p = previous;
    if (p != null && alias.equals(p.alias())) {
      return p;
    }
    return null;
  }

  private String choose(String[] keyTypes, Principal[] issuers) {
    KeySnapshot id = current.get();
    if (id == null || id.isExpiredAt(clock.instant())) {
      return null;
    }
    if (!matchesType(keyTypes, id.key()) || !matchesIssuers(issuers, id.chain())) {
      return null;
    }
    return id.alias();
  }

  static boolean matchesType(String[] keyTypes, PrivateKey key) {
    if (keyTypes == null) {
      return true;
    }
    String alg = key.getAlgorithm().toUpperCase(Locale.ROOT);
    for (String t : keyTypes) {
      if (t == null) {
        continue;
      }
      String type = t.toUpperCase(Locale.ROOT);
      if (type.equals(alg)
          || type.startsWith(alg + "_")
          || (alg.equals("RSA") && type.equals("RSASSA-PSS"))
          || (alg.equals("EDDSA") && type.equals("ED25519"))
          || (alg.equals("ED25519") && type.equals("EDDSA"))) {
        return true;
      }
    }
    return false;
  }

  private static boolean matchesIssuers(Principal[] issuers, X509Certificate[] chain) {
    if (issuers == null || issuers.length == 0) {
      return true;
    }
    for (Principal p : issuers) {
      for (X509Certificate c : chain) {
        if (p.equals(c.getIssuerX500Principal()) || p.equals(c.getSubjectX500Principal())) {
          return true;
        }
      }
    }
    return false;
  }

  @Override
  public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
    return choose(keyTypes, issuers);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
    return choose(keyTypes, issuers);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return choose(new String[] {keyType}, issuers);
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return choose(new String[] {keyType}, issuers);
  }

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    String a = choose(new String[] {keyType}, issuers);
    return a == null ? null : new String[] {a};
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return getClientAliases(keyType, issuers);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    KeySnapshot id = byAlias(alias);
    return id == null ? null : id.chain().clone();
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    KeySnapshot id = byAlias(alias);
    return id == null ? null : id.key();
  }
}
