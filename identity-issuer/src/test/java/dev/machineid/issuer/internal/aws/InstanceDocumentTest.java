package dev.machineid.issuer.internal.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.internal.aws.Ec2VerifierProvider.InstanceDocument;
import dev.machineid.issuer.join.JoinRejectedException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** Parsing the signed instance identity document and the maximum instance age. */
class InstanceDocumentTest {
  /** The shape of a real document (EC2 User Guide, "Instance identity documents"). */
  static final String DOCUMENT =
      """
      {
        "accountId" : "123456789012",
        "architecture" : "x86_64",
        "availabilityZone" : "us-east-1a",
        "billingProducts" : null,
        "devpayProductCodes" : null,
        "marketplaceProductCodes" : null,
        "imageId" : "ami-0123456789abcdef0",
        "instanceId" : "i-0123456789abcdef0",
        "instanceType" : "t3.micro",
        "kernelId" : null,
        "pendingTime" : "2026-11-22T10:00:00Z",
        "privateIp" : "10.0.0.10",
        "ramdiskId" : null,
        "region" : "us-east-1",
        "version" : "2017-09-30"
      }""";

  static InstanceDocument parse(String doc) {
    return InstanceDocument.parse(doc.getBytes(StandardCharsets.UTF_8));
  }

  static void refused(String doc, String rule) {
    assertThatThrownBy(() -> parse(doc))
        .as(doc)
        .isInstanceOf(JoinRejectedException.class)
        .hasMessageStartingWith("rule=" + rule);
  }

  @Test
  void aRealShapedDocumentYieldsItsAccountRegionInstanceAndStart() {
    assertThat(parse(DOCUMENT))
        .isEqualTo(new InstanceDocument(
            "123456789012",
            "us-east-1",
            "i-0123456789abcdef0",
            Instant.parse("2026-11-22T10:00:00Z")));
  }

  @Test
  void aDocumentLackingAFieldOrWithAFieldOfTheWrongShapeIsRefused() {
    refused(DOCUMENT.replace("\"accountId\" : \"123456789012\",", ""), "document");
    refused(DOCUMENT.replace("\"region\" : \"us-east-1\",", ""), "document");
    refused(DOCUMENT.replace("\"instanceId\" : \"i-0123456789abcdef0\",", ""), "document");
    refused(DOCUMENT.replace("\"pendingTime\" : \"2026-11-22T10:00:00Z\",", ""), "document");
    refused(DOCUMENT.replace("\"123456789012\"", "123456789012"), "document");
    refused(DOCUMENT.replace("\"123456789012\"", "\"1234\""), "document");
    refused(DOCUMENT.replace("i-0123456789abcdef0", "i-XYZ"), "document");
    refused(
        DOCUMENT.replace("\"region\" : \"us-east-1\"", "\"region\" : \"us-east-1/../x\""),
        "document");
    refused(DOCUMENT.replace("2026-11-22T10:00:00Z", "yesterday"), "document");
    refused("[" + DOCUMENT + "]", "document");
    refused("not json", "document");
  }

  @Test
  void aDocumentRepeatingAKeyOrCarryingTrailingDataIsRefused() {
    refused(
        DOCUMENT.replace("\"version\"", "\"accountId\" : \"210987654321\",\n  \"version\""),
        "document");
    refused(DOCUMENT + "{}", "document");
  }

  @Test
  void anInstanceStartedLongerAgoThanTheMaximumAgeIsRefused() {
    InstanceDocument d = parse(DOCUMENT);
    Instant started = Instant.parse("2026-11-22T10:00:00Z");
    d.checkAge(started, Duration.ofMinutes(5));
    d.checkAge(started.plus(Duration.ofMinutes(5)), Duration.ofMinutes(5));
    assertThatThrownBy(() ->
            d.checkAge(started.plus(Duration.ofMinutes(5)).plusSeconds(1), Duration.ofMinutes(5)))
        .isInstanceOf(JoinRejectedException.class)
        .hasMessageStartingWith("rule=max_instance_age");
  }
}
