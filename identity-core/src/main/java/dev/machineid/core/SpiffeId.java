package dev.machineid.core;

import java.net.URI;
import java.util.Objects;
import java.util.regex.Pattern;

/** A SPIFFE ID, {@code spiffe://<trust domain>/<path>}, validated on construction. */
public record SpiffeId(String trustDomain, String path) {
  private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]+");
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

  public SpiffeId {
    Objects.requireNonNull(trustDomain, "trustDomain");
    Objects.requireNonNull(path, "path");
    if (!TRUST_DOMAIN.matcher(trustDomain).matches()) {
      throw new IllegalArgumentException("invalid SPIFFE trust domain '" + trustDomain
          + "': lower-case letters, digits, '.', '-' and '_' only");
    }
    if (!path.isEmpty()) {
      if (!path.startsWith("/") || path.endsWith("/")) {
        throw new IllegalArgumentException(
            "invalid SPIFFE path '" + path + "': must start with '/' and not end with '/'");
      }
      for (String segment : path.substring(1).split("/", -1)) {
        if (!SEGMENT.matcher(segment).matches() || segment.equals(".") || segment.equals("..")) {
          throw new IllegalArgumentException(
              "invalid SPIFFE path segment '" + segment + "' in '" + path + "'");
        }
      }
    }
  }

  public static SpiffeId parse(String text) {
    Objects.requireNonNull(text, "text");
    if (!text.startsWith("spiffe://")) {
      throw new IllegalArgumentException("SPIFFE ID '" + text + "' must start with spiffe://");
    }
    String rest = text.substring("spiffe://".length());
    int slash = rest.indexOf('/');
    return slash < 0
        ? new SpiffeId(rest, "")
        : new SpiffeId(rest.substring(0, slash), rest.substring(slash));
  }

  /** {@code spiffe://<trust domain>/bot/<name>}. */
  public static SpiffeId forBot(String trustDomain, String botName) {
    return new SpiffeId(trustDomain, "/bot/" + botName);
  }

  public URI toUri() {
    return URI.create(toString());
  }

  @Override
  public String toString() {
    return "spiffe://" + trustDomain + path;
  }
}
