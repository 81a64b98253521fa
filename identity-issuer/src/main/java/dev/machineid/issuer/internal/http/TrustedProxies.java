package dev.machineid.issuer.internal.http;

import dev.machineid.issuer.internal.join.IdentityDecisions;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import org.eclipse.jetty.util.InetAddressSet;

/**
 * The load balancers allowed to send a PROXY protocol header: IP addresses and CIDR networks
 * ({@code 10.0.0.0/8}, {@code 192.0.2.10}, {@code fd00::/8}). Entries must be IP literals; a host
 * name is refused rather than resolved, so that the set never depends on DNS.
 */
public final class TrustedProxies {
  private static final Pattern IPV4 = Pattern.compile(
      "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

  private final List<String> entries;
  private final InetAddressSet set = new InetAddressSet();

  private TrustedProxies(List<String> entries) {
    this.entries = List.copyOf(entries);
    this.entries.forEach(set::add);
  }

  /**
   * @throws IllegalArgumentException naming the first entry that is not an IP address or CIDR
   *     network, or if there is none
   */
  public static TrustedProxies of(Collection<String> entries) {
    Objects.requireNonNull(entries, "entries");
    if (entries.isEmpty()) {
      throw new IllegalArgumentException(
          "trusted_proxies must name at least one balancer address or network");
    }
    for (String e : entries) {
      check(e);
    }
    return new TrustedProxies(List.copyOf(entries));
  }

  private static void check(String entry) {
    if (entry == null || entry.isBlank()) {
      throw new IllegalArgumentException(
          "a trusted proxy must be an IP address or a CIDR network, got an empty entry");
    }
    String e = entry.trim();
    int slash = e.indexOf('/');
    String address = slash < 0 ? e : e.substring(0, slash);
    InetAddress parsed = literal(address);
    if (parsed == null) {
      throw new IllegalArgumentException(
          "a trusted proxy must be an IP address or a CIDR network such as 10.0.0.0/8 (host names are not resolved), got '"
              + IdentityDecisions.printable(e) + "'");
    }
    if (slash >= 0) {
      int max = parsed.getAddress().length * 8;
      int bits;
      try {
        bits = Integer.parseInt(e.substring(slash + 1));
      } catch (NumberFormatException x) {
        bits = -1;
      }
      if (bits < 0 || bits > max) {
        throw new IllegalArgumentException("the prefix length of trusted proxy '"
            + IdentityDecisions.printable(e) + "' must be 0 to " + max);
      }
    }
  }

  /** The address, if {@code text} is an IPv4 or IPv6 literal (no zone, no brackets); else null. Never resolves a name. */
  public static InetAddress literal(String text) {
    if (text == null || !(IPV4.matcher(text).matches() || IPV6.matcher(text).matches())) {
      return null;
    }
    try {
      // a dotted quad or a string with ':' is parsed as a literal, never looked up
      return InetAddress.getByName(text);
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }

  /** True if the connection's peer (the TCP address, not a claimed one) is a trusted balancer. */
  public boolean contains(SocketAddress peer) {
    return peer instanceof InetSocketAddress isa
        && isa.getAddress() != null
        && set.test(isa.getAddress());
  }

  public List<String> entries() {
    return entries;
  }

  @Override
  public String toString() {
    return entries.toString();
  }
}
