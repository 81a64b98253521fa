package dev.machineid.issuer.internal.aws;

import java.util.LinkedHashSet;
import java.util.List;
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
  private static final List<String> REGIONS =
      List.of(
          "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
          "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
          "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
          "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
          "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2");

  static final Set<String> HOSTS = build();

  private StsEndpoints() {}

  private static Set<String> build() {
    Set<String> hosts = new LinkedHashSet<>();
    hosts.add("sts.amazonaws.com");
    for (String r : REGIONS) {
      hosts.add("sts." + r + ".amazonaws.com");
    }
    for (String r : List.of("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1")) {
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
