package dev.machineid.agent;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;

final class Pems {
  private Pems() {}

  /** The leaf certificate in a PEM file, or {@code null} if the file is missing. */
  static X509Certificate leaf(Path pem) {
    try {
      if (!Files.exists(pem)) {
        return null;
      }
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(Files.readAllBytes(pem)));
    } catch (IOException | CertificateException e) {
      throw new AssertionError("cannot read " + pem + ": " + e, e);
    }
  }
}
