package dev.machineid.issuer.internal.aws;

import dev.machineid.core.config.Settings;
import dev.machineid.core.config.SettingsException;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A verifier's settings, read through the core settings view: the verifier's keys are declared, so
 * any other key is refused with its path ({@code join_methods.ec2.max_instance_ag}) and the nearest
 * valid key; every failure names the key's path.
 */
final class VerifierSettings {
  private final Settings view;

  VerifierSettings(Settings view, Set<String> known) {
    this.view = view;
    view.declare(known.toArray(String[]::new));
  }

  /** A string or a list of strings. */
  List<String> strings(String key) {
    return view.list(key);
  }

  Duration duration(String key, Duration fallback) {
    return view.optionalDuration(key).orElse(fallback);
  }

  /** A positive duration, {@code fallback} when absent. */
  Duration positiveDuration(String key, Duration fallback) {
    Duration d = duration(key, fallback);
    if (d.isNegative() || d.isZero()) {
      throw new SettingsException(view.pathOf(key), "must be positive, got " + view.raw(key));
    }
    return d;
  }

  /** Certificates from PEM text (one or more blocks per entry). */
  List<X509Certificate> certificates(String key) {
    List<X509Certificate> out = new ArrayList<>();
    for (String pem : strings(key)) {
      try {
        out.addAll(parsePem(pem, view.pathOf(key)));
      } catch (IllegalArgumentException e) {
        throw new SettingsException(view.pathOf(key), e.getMessage(), e);
      }
    }
    return out;
  }

  static List<X509Certificate> parsePem(String pem, String what) {
    try {
      List<X509Certificate> out = new ArrayList<>();
      for (var c : CertificateFactory.getInstance("X.509")
          .generateCertificates(
              new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
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
