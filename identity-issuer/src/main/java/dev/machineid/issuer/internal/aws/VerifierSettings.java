package dev.machineid.issuer.internal.aws;

import dev.machineid.core.protocol.GoDuration;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads a verifier's settings map; a bad value fails the issuer's build with the setting's name. */
final class VerifierSettings {
  private final String method;
  private final Map<String, Object> values;

  VerifierSettings(String method, Map<String, Object> values, Set<String> known) {
    this.method = method;
    this.values = values;
    for (String k : values.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("unknown verifier setting '" + k + "' for join method '" + method + "'; known: " + known);
      }
    }
  }

  /** A string or a list of strings. */
  List<String> strings(String key) {
    Object v = values.get(key);
    if (v == null) {
      return List.of();
    }
    if (v instanceof String s) {
      return List.of(s);
    }
    if (v instanceof List<?> l && l.stream().allMatch(x -> x instanceof String)) {
      return l.stream().map(String::valueOf).toList();
    }
    throw new IllegalArgumentException("verifier setting '" + key + "' of '" + method + "' must be a string or a list of strings");
  }

  Duration duration(String key, Duration fallback) {
    Object v = values.get(key);
    if (v == null) {
      return fallback;
    }
    if (v instanceof Duration d) {
      return d;
    }
    try {
      return GoDuration.parse(String.valueOf(v));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("verifier setting '" + key + "' of '" + method + "' must be a duration such as 5m, got " + v);
    }
  }

  /** Certificates from PEM text (one or more blocks per entry). */
  List<X509Certificate> certificates(String key) {
    List<X509Certificate> out = new ArrayList<>();
    for (String pem : strings(key)) {
      out.addAll(parsePem(pem, "verifier setting '" + key + "' of '" + method + "'"));
    }
    return out;
  }

  static List<X509Certificate> parsePem(String pem, String what) {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IllegalArgumentException(what + " holds no PEM certificate");
      }
      return out;
    } catch (CertificateException e) {
      throw new IllegalArgumentException(what + " is not PEM certificates: " + e.getMessage(), e);
    }
  }
}
