package dev.machineid.issuer.internal.aws;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The AWS RSA-2048 instance identity certificates shipped as a resource beside the ec2 verifier. */
class ShippedEc2CertificatesTest {
  private static final Pattern BLOCK = Pattern.compile(
      "(?m)^# ([a-z]{2}(?:-[a-z]+){1,2}-[0-9]{1,2}) [^\\n]+\\n(-----BEGIN CERTIFICATE-----\\n[A-Za-z0-9+/=\\n]+-----END CERTIFICATE-----)");

  static String resource() throws IOException {
    try (InputStream in =
        Ec2VerifierProvider.class.getResourceAsStream(Ec2VerifierProvider.RESOURCE)) {
      assertThat(in).as("resource %s", Ec2VerifierProvider.RESOURCE).isNotNull();
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }

  /** Region code → certificate, from the comment line that precedes each PEM block. */
  static Map<String, X509Certificate> byRegion() throws Exception {
    String text = resource();
    Map<String, X509Certificate> out = new LinkedHashMap<>();
    Matcher m = BLOCK.matcher(text);
    CertificateFactory f = CertificateFactory.getInstance("X.509");
    while (m.find()) {
      X509Certificate c = (X509Certificate) f.generateCertificate(
          new ByteArrayInputStream(m.group(2).getBytes(StandardCharsets.US_ASCII)));
      assertThat(out.put(m.group(1), c))
          .as("region %s listed twice", m.group(1))
          .isNull();
    }
    assertThat(out.size())
        .as("every PEM block is preceded by a '# <region> <name>' line")
        .isEqualTo(count(text, "-----BEGIN CERTIFICATE-----"));
    assertThat(count(text, "-----END CERTIFICATE-----")).isEqualTo(out.size());
    return out;
  }

  private static int count(String text, String what) {
    return text.split(Pattern.quote(what), -1).length - 1;
  }

  @Test
  void everyShippedCertificateIsASelfSignedRsa2048KeyNamedByItsRegion() throws Exception {
    Map<String, X509Certificate> certs = byRegion();
    assertThat(certs)
        .containsKeys(
            "us-east-1",
            "us-east-2",
            "us-west-2",
            "eu-west-1",
            "eu-central-1",
            "ap-northeast-1",
            "ap-southeast-2");
    assertThat(certs).hasSizeGreaterThanOrEqualTo(27);
    certs.forEach((region, c) -> {
      assertThat(c.getPublicKey()).as(region).isInstanceOf(RSAPublicKey.class);
      assertThat(((RSAPublicKey) c.getPublicKey()).getModulus().bitLength())
          .as("%s key size", region)
          .isEqualTo(2048);
      assertThat(c.getSubjectX500Principal()).as(region).isEqualTo(c.getIssuerX500Principal());
      assertThat(c.getSubjectX500Principal().getName())
          .as(region)
          .contains("O=Amazon Web Services LLC");
      try {
        c.verify(c.getPublicKey()); // a character lost in copying would break this
      } catch (Exception e) {
        throw new AssertionError(region + ": self-signature does not verify: " + e, e);
      }
    });
  }

  @Test
  void noShippedCertificateIsExpiredOrRepeated() throws Exception {
    Map<String, X509Certificate> certs = byRegion();
    Instant now = Instant.now();
    certs.forEach((region, c) ->
        assertThat(c.getNotAfter().toInstant()).as("%s notAfter", region).isAfter(now));
    assertThat(certs.values().stream().map(X509Certificate::getSerialNumber).distinct())
        .hasSameSizeAs(certs.values());
  }

  @Test
  void theVerifierLoadsExactlyTheShippedCertificates() throws Exception {
    List<X509Certificate> loaded = Ec2VerifierProvider.shipped();
    assertThat(loaded).containsExactlyElementsOf(byRegion().values());
  }

  @Test
  void theResourceNamesItsSource() throws Exception {
    String header = resource().substring(0, resource().indexOf("-----BEGIN"));
    assertThat(header).contains("https://docs.aws.amazon.com/").contains("Retrieved ");
  }
}
