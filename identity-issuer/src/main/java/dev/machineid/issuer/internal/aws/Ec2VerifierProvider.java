package dev.machineid.issuer.internal.aws;

import static dev.machineid.issuer.internal.aws.Rejections.reject;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.issuer.Token;
import dev.machineid.issuer.join.JoinAttempt;
import dev.machineid.issuer.join.JoinVerifier;
import dev.machineid.issuer.join.JoinVerifierProvider;
import dev.machineid.issuer.join.VerifiedJoin;
import dev.machineid.issuer.join.VerifierContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateHolder;
import org.bouncycastle.cms.CMSException;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code ec2} verifier (docs/architecture.md §6): verifies the {@code rsa2048} PKCS7 signature of an instance
 * identity document against AWS's regional RSA-2048 certificates, reads the document <b>only</b>
 * from the signed content, and applies {@code aws_account} (required), {@code aws_regions} and a
 * maximum instance age measured from {@code pendingTime}. The document cannot carry a challenge, so
 * the issuer binds it to the first bot instance ({@link #bindsOnFirstUse()}); the method renews with
 * generations.
 *
 * <p>Certificates: the resource {@code ec2-rsa2048-certificates.pem} beside this class (see its
 * header for the source) plus the setting {@code additional_certificates} (PEM). Setting
 * {@code max_instance_age}: default {@code 5m}, as Teleport's {@code aws_iid_ttl}.
 */
public final class Ec2VerifierProvider implements JoinVerifierProvider {
  private static final Set<String> SETTINGS = Set.of("additional_certificates", "max_instance_age");

  public static final String NAME = "ec2";
  static final String RESOURCE = "ec2-rsa2048-certificates.pem";
  private static final int MAX_DOCUMENT = 16 * 1024;
  private static final Logger LOG = LoggerFactory.getLogger(Ec2VerifierProvider.class);

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JoinVerifier create(VerifierContext context) {
    VerifierSettings s = new VerifierSettings(context.settingsView(), SETTINGS);
    List<X509Certificate> certs = new ArrayList<>(shipped());
    List<X509Certificate> extra = s.certificates("additional_certificates");
    if (!extra.isEmpty()) {
      LOG.warn(
          "ec2 verifier: {} additional document-signing certificate(s) trusted by configuration (additional_certificates): {}",
          extra.size(),
          extra.stream().map(c -> c.getSubjectX500Principal().getName()).toList());
    }
    certs.addAll(extra);
    Duration maxAge = s.positiveDuration("max_instance_age", Duration.ofMinutes(5));
    if (certs.isEmpty()) {
      LOG.warn(
          "ec2 verifier: no AWS RSA-2048 certificates are configured; every ec2 join will be refused. Add AWS's regional "
              + "certificates (see docs/join-methods/aws.md) to the resource or to additional_certificates");
    }
    return new Verifier(context, List.copyOf(certs), maxAge);
  }

  static List<X509Certificate> shipped() {
    try (InputStream in = Ec2VerifierProvider.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        return List.of();
      }
      String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
      if (!text.contains("-----BEGIN CERTIFICATE-----")) {
        return List.of();
      }
      return VerifierSettings.parsePem(text, "resource " + RESOURCE);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read resource " + RESOURCE, e);
    }
  }

  static final class Verifier implements JoinVerifier {
    private final VerifierContext context;
    private final List<X509Certificate> certificates;
    private final Duration maxAge;

    Verifier(VerifierContext context, List<X509Certificate> certificates, Duration maxAge) {
      this.context = context;
      this.certificates = certificates;
      this.maxAge = maxAge;
    }

    @Override
    public String name() {
      return NAME;
    }

    @Override
    public boolean renewable() {
      return true;
    }

    @Override
    public boolean bindsOnFirstUse() {
      return true;
    }

    @Override
    public VerifiedJoin verify(JoinAttempt attempt) {
      Instant now = attempt.time();
      Token token = AwsRules.token(context.tokens(), attempt.token(), NAME, now);
      List<AwsRules.Rule> rules;
      try {
        rules = AwsRules.parse(NAME, token.rules());
      } catch (IllegalArgumentException e) {
        throw reject(
            "token_rules", "token '" + token.name() + "' has invalid rules: " + e.getMessage());
      }
      JsonNode proof = attempt.proof();
      JsonNode sentDoc = proof.get("document");
      JsonNode sig = proof.get("signature");
      if (proof.size() != 2
          || sentDoc == null
          || !sentDoc.isTextual()
          || sig == null
          || !sig.isTextual()) {
        throw reject(
            "proof_shape",
            "the ec2 proof must be exactly {\"document\":\"…\",\"signature\":\"…\"}");
      }
      byte[] signed = verifySignature(sig.asText());
      if (!sentDoc.asText().equals(new String(signed, StandardCharsets.UTF_8))) {
        throw reject(
            "document_mismatch",
            "the document sent differs from the signed content; only the signed content is trusted");
      }
      InstanceDocument doc = InstanceDocument.parse(signed);
      doc.checkAge(now, maxAge);
      String account = doc.account();
      String region = doc.region();
      String instanceId = doc.instanceId();
      Instant pending = doc.pendingTime();
      boolean accountKnown = false;
      boolean matched = false;
      for (AwsRules.Rule r : rules) {
        if (r.account().equals(account)) {
          accountKnown = true;
          if (r.regions().isEmpty() || r.regions().contains(region)) {
            matched = true;
            break;
          }
        }
      }
      if (!matched) {
        throw reject(
            accountKnown ? "aws_regions" : "aws_account",
            "instance " + instanceId + " (account " + account + ", region " + region
                + ") matches no allow rule of token '" + token.name() + "'");
      }
      Map<String, String> metadata = new LinkedHashMap<>();
      metadata.put("aws_account", account);
      metadata.put("aws_region", region);
      metadata.put("instance_id", instanceId);
      metadata.put("pending_time", pending.toString());
      metadata.put("token_name", token.name());
      return new VerifiedJoin(
          token.bot(), token.id(), "ec2:" + account + ":" + instanceId, metadata);
    }

    /** Returns the signed content if exactly one signer verifies with a configured certificate. */
    private byte[] verifySignature(String base64) {
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(base64);
      } catch (IllegalArgumentException e) {
        throw reject("signature", "signature is not base64");
      }
      CMSSignedData cms;
      try {
        cms = new CMSSignedData(der);
      } catch (CMSException | RuntimeException e) {
        throw reject("signature", "signature is not a PKCS7 SignedData");
      }
      if (cms.getSignedContent() == null
          || !(cms.getSignedContent().getContent() instanceof byte[] content)
          || content.length > MAX_DOCUMENT) {
        throw reject("signature", "the PKCS7 holds no encapsulated document (or one too large)");
      }
      Collection<SignerInformation> signers = cms.getSignerInfos().getSigners();
      if (signers.size() != 1) {
        throw reject("signature", "the PKCS7 must have exactly one signer, has " + signers.size());
      }
      SignerInformation signer = signers.iterator().next();
      for (X509Certificate cert : certificates) {
        try {
          X509CertificateHolder holder = new JcaX509CertificateHolder(cert);
          if (!signer.getSID().match(holder)) {
            continue;
          }
          if (signer.verify(new JcaSimpleSignerInfoVerifierBuilder().build(cert))) {
            return content;
          }
        } catch (Exception e) {
          throw reject("signature", "the PKCS7 signature does not verify: " + e.getMessage());
        }
      }
      throw reject("signature", "the PKCS7 is not signed by a configured AWS certificate");
    }
  }

  /**
   * The fields of a signed instance identity document the verifier uses. Parsed from the signed
   * bytes only, as strict JSON (a repeated key or trailing data is refused).
   */
  record InstanceDocument(String account, String region, String instanceId, Instant pendingTime) {
    private static final ObjectMapper JSON = new ObjectMapper()
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    static InstanceDocument parse(byte[] signed) {
      JsonNode doc;
      try {
        doc = JSON.readTree(signed);
      } catch (IOException e) {
        throw reject("document", "the signed document is not JSON (or repeats a key)");
      }
      if (doc == null || !doc.isObject()) {
        throw reject("document", "the signed document is not a JSON object");
      }
      String account = field(doc, "accountId");
      String region = field(doc, "region");
      String instanceId = field(doc, "instanceId");
      Instant pending;
      try {
        pending = Instant.parse(field(doc, "pendingTime"));
      } catch (DateTimeParseException e) {
        throw reject("document", "pendingTime is not an RFC 3339 time");
      }
      if (!AwsRules.ACCOUNT.matcher(account).matches()
          || !instanceId.matches("i-[0-9a-f]{8,17}")
          || !AwsRules.REGION.matcher(region).matches()) {
        throw reject("document", "accountId, region or instanceId has an unexpected form");
      }
      return new InstanceDocument(account, region, instanceId, pending);
    }

    /** Refuses an instance that started more than {@code maxAge} before {@code now}. */
    void checkAge(Instant now, Duration maxAge) {
      if (pendingTime.plus(maxAge).isBefore(now)) {
        throw reject(
            "max_instance_age",
            "instance " + instanceId + " started at " + pendingTime + ", more than " + maxAge
                + " ago");
      }
    }

    private static String field(JsonNode doc, String name) {
      JsonNode v = doc.get(name);
      if (v == null || !v.isTextual() || v.asText().isEmpty()) {
        throw reject("document", "the signed document lacks " + name);
      }
      return v.asText();
    }
  }
}
