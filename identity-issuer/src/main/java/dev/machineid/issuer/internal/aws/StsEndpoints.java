package dev.machineid.issuer.internal.aws;

import static dev.machineid.issuer.internal.aws.Rejections.reject;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The STS hosts the {@code iam} verifier forwards to. Source: AWS General Reference, "AWS Security
 * Token Service endpoints and quotas" (https://docs.aws.amazon.com/general/latest/gr/sts.html),
 * and "Managing AWS STS in an AWS Region" in the IAM User Guide (regional endpoint names
 * {@code sts.<region>.amazonaws.com}); FIPS endpoints and the GovCloud and China partitions from the
 * same page. Only port 443 over https. A host not listed here is reachable only through the
 * verifier setting {@code additional_sts_endpoints}, which logs a warning at start.
 */
final class StsEndpoints {
  /** Commercial regions with a regional STS endpoint. */
  private static final List<String> REGIONS = List.of(
      "af-south-1",
      "ap-east-1",
      "ap-northeast-1",
      "ap-northeast-2",
      "ap-northeast-3",
      "ap-south-1",
      "ap-south-2",
      "ap-southeast-1",
      "ap-southeast-2",
      "ap-southeast-3",
      "ap-southeast-4",
      "ap-southeast-5",
      "ap-southeast-7",
      "ca-central-1",
      "ca-west-1",
      "eu-central-1",
      "eu-central-2",
      "eu-north-1",
      "eu-south-1",
      "eu-south-2",
      "eu-west-1",
      "eu-west-2",
      "eu-west-3",
      "il-central-1",
      "me-central-1",
      "me-south-1",
      "mx-central-1",
      "sa-east-1",
      "us-east-1",
      "us-east-2",
      "us-west-1",
      "us-west-2");

  static final Set<String> HOSTS = build();

  private StsEndpoints() {}

  /** The built-in allow-list as {@code host:443} keys, the form {@link #check} compares. */
  static Set<String> defaultKeys() {
    Set<String> keys = new LinkedHashSet<>();
    for (String h : HOSTS) {
      keys.add(h + ":443");
    }
    return keys;
  }

  /**
   * {@code host:port} from a configured entry: {@code host}, {@code host:port} or an https URL. A
   * bad entry fails the issuer's build.
   */
  static String endpointKey(String entry) {
    String e = entry.trim();
    URI u;
    try {
      u = new URI(e.contains("://") ? e : "https://" + e);
    } catch (URISyntaxException ex) {
      throw new IllegalArgumentException(
          "additional_sts_endpoints entry is not a host or URL: " + entry, ex);
    }
    if (!"https".equalsIgnoreCase(u.getScheme())
        || u.getHost() == null
        || u.getRawUserInfo() != null) {
      throw new IllegalArgumentException(
          "additional_sts_endpoints entry must be an https host, got " + entry);
    }
    String path = u.getRawPath();
    if ((path != null && !path.isEmpty() && !path.equals("/"))
        || u.getRawQuery() != null
        || u.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "additional_sts_endpoints entry must name a host and port only, got " + entry);
    }
    return u.getHost().toLowerCase(Locale.ROOT) + ":" + (u.getPort() == -1 ? 443 : u.getPort());
  }

  /**
   * Checks the URL of a client's {@code sts_request} against {@code allowed} ({@code host:port}
   * keys) and returns the URL the verifier may send to: {@code https://<authority>/}. Refuses any
   * scheme but https, user info, a path other than {@code /}, a query string or fragment, and any
   * host and port not in the list (compared exactly, case-insensitively; no suffix or prefix match).
   */
  static URI check(String text, Set<String> allowed) {
    URI u;
    try {
      u = new URI(text);
    } catch (URISyntaxException e) {
      throw reject("sts_endpoint", "sts_request url does not parse");
    }
    if (!"https".equals(u.getScheme())
        || u.getRawAuthority() == null
        || u.getHost() == null
        || u.getRawUserInfo() != null) {
      throw reject(
          "sts_endpoint",
          "sts_request url must be https://<STS host>/, got '" + AwsRules.printable(text) + "'");
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      throw reject("query_string", "sts_request url must carry no query string or fragment");
    }
    String path = u.getRawPath();
    if (path != null && !path.isEmpty() && !path.equals("/")) {
      throw reject(
          "sts_endpoint",
          "sts_request url path must be '/', got '" + AwsRules.printable(path) + "'");
    }
    String key =
        u.getHost().toLowerCase(Locale.ROOT) + ":" + (u.getPort() == -1 ? 443 : u.getPort());
    if (!allowed.contains(key)) {
      throw reject(
          "sts_endpoint",
          "host " + AwsRules.printable(key)
              + " is not a known STS endpoint; no request was sent to it");
    }
    return URI.create("https://" + u.getRawAuthority() + "/");
  }

  private static Set<String> build() {
    Set<String> hosts = new LinkedHashSet<>();
    hosts.add("sts.amazonaws.com");
    for (String r : REGIONS) {
      hosts.add("sts." + r + ".amazonaws.com");
    }
    for (String r :
        List.of("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1")) {
      hosts.add("sts-fips." + r + ".amazonaws.com");
    }
    hosts.add("sts.us-gov-east-1.amazonaws.com");
    hosts.add("sts.us-gov-west-1.amazonaws.com");
    hosts.add("sts-fips.us-gov-east-1.amazonaws.com");
    hosts.add("sts-fips.us-gov-west-1.amazonaws.com");
    hosts.add("sts.cn-north-1.amazonaws.com.cn");
    hosts.add("sts.cn-northwest-1.amazonaws.com.cn");
    return Set.copyOf(hosts);
  }
}
