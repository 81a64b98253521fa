package dev.machineid.issuer.internal.aws;

import static dev.machineid.issuer.internal.aws.Rejections.reject;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * The caller identity in STS's reply to {@code GetCallerIdentity}, parsed strictly: the reply must
 * have exactly the shape STS documents, in XML ({@code text/xml}, the Query protocol's default) or
 * JSON ({@code application/json}); anything else (another content type, another root, a second
 * result, an unknown or missing element, markup inside a value, duplicate JSON keys, trailing data)
 * is a rejection with the rule {@code sts_reply}. Shape (API reference, GetCallerIdentity):
 *
 * <pre>{@code
 * <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
 *   <GetCallerIdentityResult><Arn>…</Arn><UserId>…</UserId><Account>…</Account></GetCallerIdentityResult>
 *   <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
 * </GetCallerIdentityResponse>
 * }</pre>
 */
record StsReply(String account, String arn, String userId) {
  static final String NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/";
  private static final Set<String> RESULT_FIELDS = Set.of("Account", "Arn", "UserId");
  private static final Pattern ARN = Pattern.compile(
      "arn:(aws|aws-cn|aws-us-gov):(iam|sts)::([0-9]{12}):([A-Za-z0-9+=,.@_/-]{1,1900})");
  private static final Pattern USER_ID = Pattern.compile("[A-Za-z0-9:+=,.@_-]{1,256}");
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  /** Checks the values: a 12-digit account, an IAM or STS ARN naming that same account, a plain user id. */
  StsReply {
    if (!AwsRules.ACCOUNT.matcher(account).matches()) {
      throw reject("sts_reply", "STS reply's Account is not 12 digits");
    }
    Matcher m = ARN.matcher(arn);
    if (!m.matches() || !m.group(3).equals(account)) {
      throw reject("sts_reply", "STS reply's Arn does not parse or names another account");
    }
    if (!USER_ID.matcher(userId).matches()) {
      throw reject("sts_reply", "STS reply's UserId has an unexpected form");
    }
  }

  /** Parses by the reply's {@code Content-Type}. */
  static StsReply parse(String contentType, byte[] body) {
    String type = contentType.toLowerCase(Locale.ROOT).split(";", 2)[0].trim();
    return switch (type) {
      case "application/json" -> parseJson(body);
      case "text/xml", "application/xml" -> parseXml(body);
      default ->
        throw reject(
            "sts_reply",
            "STS reply has Content-Type '" + AwsRules.printable(contentType)
                + "', not XML or JSON");
    };
  }

  static StsReply parseJson(byte[] body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      throw reject("sts_reply", "JSON reply does not parse (or repeats a key)");
    }
    if (root == null
        || !root.isObject()
        || root.size() != 1
        || !root.path("GetCallerIdentityResponse").isObject()) {
      throw reject("sts_reply", "JSON reply is not a single GetCallerIdentityResponse");
    }
    JsonNode response = root.get("GetCallerIdentityResponse");
    for (var it = response.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!f.equals("GetCallerIdentityResult") && !f.equals("ResponseMetadata")) {
        throw reject(
            "sts_reply", "JSON reply has an unexpected member '" + AwsRules.printable(f) + "'");
      }
    }
    JsonNode result = response.get("GetCallerIdentityResult");
    if (result == null || !result.isObject()) {
      throw reject("sts_reply", "JSON reply lacks GetCallerIdentityResult");
    }
    Set<String> names = new HashSet<>();
    result.fieldNames().forEachRemaining(names::add);
    if (!names.equals(RESULT_FIELDS)) {
      throw reject(
          "sts_reply",
          "JSON GetCallerIdentityResult must hold exactly " + RESULT_FIELDS + ", holds "
              + printable(names));
    }
    return new StsReply(text(result, "Account"), text(result, "Arn"), text(result, "UserId"));
  }

  private static String text(JsonNode n, String name) {
    JsonNode v = n.get(name);
    if (!v.isTextual()) {
      throw reject("sts_reply", "JSON " + name + " is not a string");
    }
    return v.asText();
  }

  static StsReply parseXml(byte[] body) {
    Document doc;
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setNamespaceAware(true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setXIncludeAware(false);
      f.setExpandEntityReferences(false);
      DocumentBuilder db = f.newDocumentBuilder();
      db.setErrorHandler(null);
      doc = db.parse(new ByteArrayInputStream(body));
    } catch (Exception e) {
      throw reject("sts_reply", "XML reply does not parse");
    }
    Element root = doc.getDocumentElement();
    if (!"GetCallerIdentityResponse".equals(root.getLocalName())
        || !NAMESPACE.equals(root.getNamespaceURI())) {
      throw reject(
          "sts_reply", "XML reply is not a GetCallerIdentityResponse in namespace " + NAMESPACE);
    }
    Map<String, List<Element>> top = children(root);
    if (!Set.of("GetCallerIdentityResult", "ResponseMetadata").containsAll(top.keySet())) {
      throw reject(
          "sts_reply",
          "XML GetCallerIdentityResponse has unexpected elements " + printable(top.keySet()));
    }
    List<Element> results = top.getOrDefault("GetCallerIdentityResult", List.of());
    if (results.size() != 1 || top.getOrDefault("ResponseMetadata", List.of()).size() > 1) {
      throw reject(
          "sts_reply",
          "XML reply must hold exactly one GetCallerIdentityResult (and at most one ResponseMetadata), holds "
              + results.size());
    }
    Map<String, List<Element>> fields = children(results.get(0));
    if (!fields.keySet().equals(RESULT_FIELDS)
        || fields.values().stream().anyMatch(l -> l.size() != 1)) {
      throw reject(
          "sts_reply",
          "XML GetCallerIdentityResult must hold exactly one each of " + RESULT_FIELDS + ", holds "
              + printable(fields.keySet()));
    }
    return new StsReply(leaf(fields, "Account"), leaf(fields, "Arn"), leaf(fields, "UserId"));
  }

  /**
   * The element children of {@code parent} by local name, in STS's namespace; any other element, or
   * text other than white space between them, is a rejection.
   */
  private static Map<String, List<Element>> children(Element parent) {
    Map<String, List<Element>> out = new java.util.LinkedHashMap<>();
    NodeList nodes = parent.getChildNodes();
    for (int i = 0; i < nodes.getLength(); i++) {
      Node n = nodes.item(i);
      if (n instanceof Element e) {
        if (!NAMESPACE.equals(e.getNamespaceURI())) {
          throw reject(
              "sts_reply",
              "XML element " + AwsRules.printable(e.getTagName()) + " is outside STS's namespace");
        }
        out.computeIfAbsent(e.getLocalName(), k -> new ArrayList<>()).add(e);
      } else if ((n.getNodeType() == Node.TEXT_NODE || n.getNodeType() == Node.CDATA_SECTION_NODE)
          && !n.getNodeValue().isBlank()) {
        throw reject("sts_reply", "XML " + parent.getLocalName() + " holds stray text");
      } else if (n.getNodeType() != Node.TEXT_NODE
          && n.getNodeType() != Node.COMMENT_NODE
          && n.getNodeType() != Node.CDATA_SECTION_NODE) {
        throw reject("sts_reply", "XML " + parent.getLocalName() + " holds an unexpected node");
      }
    }
    return out;
  }

  /** The text of a leaf element; an element inside it is a rejection. */
  private static String leaf(Map<String, List<Element>> fields, String name) {
    Element e = fields.get(name).get(0);
    NodeList nodes = e.getChildNodes();
    StringBuilder text = new StringBuilder();
    for (int i = 0; i < nodes.getLength(); i++) {
      Node n = nodes.item(i);
      if (n.getNodeType() == Node.TEXT_NODE || n.getNodeType() == Node.CDATA_SECTION_NODE) {
        text.append(n.getNodeValue());
      } else if (n.getNodeType() != Node.COMMENT_NODE) {
        throw reject("sts_reply", "XML " + name + " must hold text only");
      }
    }
    return text.toString().trim();
  }

  private static String printable(Set<String> names) {
    return AwsRules.printable(new java.util.TreeSet<>(names).toString());
  }
}
