package dev.machineid.core.internal.client;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Whether a server certificate names the host a client connected to (RFC 6125 / RFC 2818): IP
 * addresses against IP address SANs exactly, DNS names against DNS SANs case-insensitively with a
 * wildcard allowed only as the whole left-most label. The subject's common name is never used.
 * The JDK's own checker is not exported, and a custom {@link javax.net.ssl.X509ExtendedTrustManager}
 * does not get it from JSSE, so the issuer client's trust manager calls this one.
 */
public final class HostNames {
  private HostNames() {}

  public static boolean names(X509Certificate leaf, String host) {
    if (host == null || host.isEmpty()) {
      return false;
    }
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.endsWith(".")) {
      h = h.substring(0, h.length() - 1);
    }
    boolean ip = isIpLiteral(h);
    try {
      Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
      if (sans == null) {
        return false;
      }
      for (List<?> san : sans) {
        int type = (Integer) san.get(0);
        String value = String.valueOf(san.get(1));
        if (ip
            && type == 7
            && isIpLiteral(value)
            && InetAddress.getByName(value).equals(InetAddress.getByName(h))) {
          return true;
        }
        if (!ip && type == 2 && dnsMatches(value, h)) {
          return true;
        }
      }
      return false;
    } catch (CertificateParsingException | UnknownHostException e) {
      return false;
    }
  }

  /** Literal addresses only, so that {@link InetAddress#getByName} never resolves a name here. */
  private static boolean isIpLiteral(String s) {
    return s.indexOf(':') >= 0
        || (!s.isEmpty() && s.chars().allMatch(c -> c == '.' || Character.isDigit(c)));
  }

  private static boolean dnsMatches(String pattern, String host) {
    String p = pattern.toLowerCase(Locale.ROOT);
    if (p.endsWith(".")) {
      p = p.substring(0, p.length() - 1);
    }
    String h = host.toLowerCase(Locale.ROOT);
    if (p.startsWith("*.")) {
      String suffix = p.substring(1);
      int dot = h.indexOf('.');
      // the wildcard stands for exactly one non-empty label, and never for a top-level label alone
      return dot > 0 && suffix.indexOf('.', 1) > 0 && h.substring(dot).equals(suffix);
    }
    return p.indexOf('*') < 0 && p.equals(h);
  }
}
