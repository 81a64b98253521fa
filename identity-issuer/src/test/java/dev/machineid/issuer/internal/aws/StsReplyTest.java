package dev.machineid.issuer.internal.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.join.JoinRejectedException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Strict parsing of STS's GetCallerIdentity reply, in XML and JSON. */
class StsReplyTest {
  static final String NS = "https://sts.amazonaws.com/doc/2011-06-15/";
  static final String ARN = "arn:aws:sts::123456789012:assumed-role/app/i-0123456789abcdef0";
  static final String RESULT = "<Arn>" + ARN
      + "</Arn><UserId>AROAEXAMPLEID:i-0123456789abcdef0</UserId><Account>123456789012</Account>";

  static String xml(String result) {
    return xml("<GetCallerIdentityResult>" + result + "</GetCallerIdentityResult>", true);
  }

  static String xml(String body, boolean metadata) {
    return "<?xml version=\"1.0\"?>\n<GetCallerIdentityResponse xmlns=\"" + NS + "\">\n  " + body
        + "\n"
        + (metadata
            ? "  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>\n"
            : "")
        + "</GetCallerIdentityResponse>\n";
  }

  static String json(String result) {
    return "{\"GetCallerIdentityResponse\":{\"GetCallerIdentityResult\":" + result
        + ",\"ResponseMetadata\":{\"RequestId\":\"x\"}}}";
  }

  static final String JSON_RESULT = "{\"Account\":\"123456789012\",\"Arn\":\"" + ARN
      + "\",\"UserId\":\"AROAEXAMPLEID:i-0123456789abcdef0\"}";

  static StsReply parse(String type, String body) {
    return StsReply.parse(type, body.getBytes(StandardCharsets.UTF_8));
  }

  static void refused(String type, String body) {
    assertThatThrownBy(() -> parse(type, body))
        .as(body)
        .isInstanceOf(JoinRejectedException.class)
        .hasMessageStartingWith("rule=sts_reply");
  }

  @Test
  void theDocumentedXmlReplyParses() {
    StsReply r = parse("text/xml", xml(RESULT));
    assertThat(r).isEqualTo(new StsReply("123456789012", ARN, "AROAEXAMPLEID:i-0123456789abcdef0"));
    assertThat(parse("text/xml;charset=UTF-8", xml(RESULT)).account()).isEqualTo("123456789012");
    assertThat(parse(
                "text/xml",
                xml("<GetCallerIdentityResult>" + RESULT + "</GetCallerIdentityResult>", false))
            .arn())
        .isEqualTo(ARN);
    assertThat(parse(
                "text/xml",
                xml(
                    "<Account>123456789012</Account><UserId>AIDAEXAMPLE</UserId><Arn>arn:aws:iam::123456789012:user/alice</Arn>"))
            .arn())
        .isEqualTo("arn:aws:iam::123456789012:user/alice");
  }

  @Test
  void theDocumentedJsonReplyParses() {
    assertThat(parse("application/json", json(JSON_RESULT)))
        .isEqualTo(new StsReply("123456789012", ARN, "AROAEXAMPLEID:i-0123456789abcdef0"));
  }

  @Test
  void anXmlReplyWithAMissingOrExtraOrRepeatedElementIsRefused() {
    refused("text/xml", xml("<Arn>" + ARN + "</Arn><UserId>U</UserId>"));
    refused("text/xml", xml(RESULT + "<Extra>x</Extra>"));
    refused("text/xml", xml(RESULT + "<Account>210987654321</Account>"));
    refused(
        "text/xml",
        xml(RESULT.replace("<Arn>", "<Arn>arn:aws:iam::210987654321:user/x</Arn><Arn>")));
    refused(
        "text/xml",
        xml(
            "<GetCallerIdentityResult>" + RESULT
                + "</GetCallerIdentityResult><GetCallerIdentityResult>" + RESULT
                + "</GetCallerIdentityResult>",
            true));
    refused("text/xml", xml("", true));
    refused(
        "text/xml",
        xml("<GetCallerIdentityResult>" + RESULT + "</GetCallerIdentityResult><Other/>", true));
    refused(
        "text/xml",
        xml("<GetCallerIdentityResult>" + RESULT + "</GetCallerIdentityResult>stray", true));
    refused(
        "text/xml",
        xml(RESULT.replace(
            "<Account>123456789012</Account>", "<Account>1234<b/>56789012</Account>")));
  }

  @Test
  void anXmlReplyInAnotherShapeOrNamespaceIsRefused() {
    refused("text/xml", xml(RESULT).replace(NS, "https://evil.example/"));
    refused("text/xml", xml(RESULT).replace(" xmlns=\"" + NS + "\"", ""));
    refused(
        "text/xml",
        "<AssumeRoleResponse xmlns=\"" + NS + "\"><GetCallerIdentityResult>" + RESULT
            + "</GetCallerIdentityResult></AssumeRoleResponse>");
    refused(
        "text/xml",
        "<Wrapper>" + xml(RESULT).replace("<?xml version=\"1.0\"?>", "") + "</Wrapper>");
    refused(
        "text/xml",
        xml(RESULT
            .replace("<Arn>", "<x:Arn xmlns:x=\"https://evil.example/\">")
            .replace("</Arn>", "</x:Arn>")));
    refused(
        "text/xml",
        "<!DOCTYPE r [<!ENTITY a \"123456789012\">]>"
            + xml(RESULT.replace(">123456789012<", ">&a;<"))
                .replace("<?xml version=\"1.0\"?>", ""));
    refused("text/xml", xml(RESULT) + "<trailing/>");
    refused("text/xml", "not xml");
  }

  @Test
  void aJsonReplyWithAMissingExtraOrRepeatedMemberIsRefused() {
    refused("application/json", json("{\"Account\":\"123456789012\",\"Arn\":\"" + ARN + "\"}"));
    refused("application/json", json(JSON_RESULT.replace("}", ",\"Extra\":\"x\"}")));
    refused("application/json", json(JSON_RESULT.replace("{", "{\"Account\":\"210987654321\",")));
    refused(
        "application/json",
        "{\"GetCallerIdentityResponse\":{\"GetCallerIdentityResult\":" + JSON_RESULT
            + ",\"GetCallerIdentityResult\":" + JSON_RESULT + "}}");
    refused("application/json", json(JSON_RESULT) + json(JSON_RESULT));
    refused("application/json", json(JSON_RESULT).replace("}}}", "},\"Other\":{}}}"));
    refused("application/json", json(JSON_RESULT).replace("}}}", "}},\"Other\":{}}"));
    refused("application/json", json(JSON_RESULT.replace("\"123456789012\"", "123456789012")));
    refused("application/json", "[" + json(JSON_RESULT) + "]");
    refused("application/json", "{\"GetCallerIdentityResponse\":{}}");
    refused("application/json", "");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"", "text/html", "application/octet-stream", "application/jsonp", "text/plain"})
  void aReplyOfAnotherContentTypeIsRefused(String type) {
    refused(type, xml(RESULT));
  }

  @Test
  void valuesOfTheWrongShapeAreRefused() {
    refused("text/xml", xml(RESULT.replace(">123456789012<", ">12345678901<")));
    refused("text/xml", xml(RESULT.replace(">123456789012<", ">210987654321<")));
    refused("text/xml", xml(RESULT.replace(ARN, "arn:aws:s3:::bucket")));
    refused("text/xml", xml(RESULT.replace(ARN, ARN + " extra")));
    refused("text/xml", xml(RESULT.replace("AROAEXAMPLEID:i-0123456789abcdef0", "")));
    refused("text/xml", xml(RESULT.replace("AROAEXAMPLEID:i-0123456789abcdef0", "id with spaces")));
  }
}
