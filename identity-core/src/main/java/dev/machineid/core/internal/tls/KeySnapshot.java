package dev.machineid.core.internal.tls;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;

/**
 * What a key manager serves for one handshake: a chain and its key, issued together. The alias
 * names the snapshot so a handshake reads chain and key from the same one.
 */
public record KeySnapshot(String alias, X509Certificate[] chain, PrivateKey key, Instant notAfter) {
  public static KeySnapshot of(List<X509Certificate> chain, PrivateKey key) {
    X509Certificate leaf = chain.get(0);
    return new KeySnapshot(
        "machineid-" + leaf.getSerialNumber().toString(16),
        chain.toArray(new X509Certificate[0]),
        key,
        leaf.getNotAfter().toInstant());
  }

  public boolean isExpiredAt(Instant now) {
    return !now.isBefore(notAfter);
  }
}
