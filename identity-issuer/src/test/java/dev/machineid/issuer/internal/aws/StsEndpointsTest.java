package dev.machineid.issuer.internal.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.core.ErrorCode;
import dev.machineid.issuer.join.JoinRejectedException;
import java.net.URI;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The fixed list of STS endpoints the iam verifier may forward to (docs/architecture.md §6, §11.6). */
class StsEndpointsTest {
  static final Set<String> DEFAULT = StsEndpoints.defaultKeys();

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://sts.amazonaws.com/",
        "https://sts.amazonaws.com",
        "https://sts.us-east-1.amazonaws.com/",
        "https://sts.eu-west-1.amazonaws.com/",
        "https://STS.EU-WEST-1.AMAZONAWS.COM/",
        "https://sts.ap-southeast-2.amazonaws.com:443/",
        "https://sts-fips.us-east-1.amazonaws.com/",
        "https://sts-fips.us-gov-west-1.amazonaws.com/",
        "https://sts.us-gov-east-1.amazonaws.com/",
        "https://sts.cn-north-1.amazonaws.com.cn/"
      })
  void knownStsEndpointsAreAccepted(String url) {
    URI u = StsEndpoints.check(url, DEFAULT);
    assertThat(u.getScheme()).isEqualTo("https");
    assertThat(u.getRawPath()).isEqualTo("/");
    assertThat(u.getRawQuery()).isNull();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://sts.amazonaws.com.evil.example/",
        "https://evil.example/sts.amazonaws.com/",
        "https://sts.amazonaws.com@evil.example/",
        "https://evil.example@sts.amazonaws.com/",
        "https://user:pass@sts.amazonaws.com/",
        "https://evilsts.amazonaws.com/",
        "https://sts.evil-1.amazonaws.com/",
        "https://sts.us-east-1.amazonaws.com.cn/",
        "https://sts.cn-north-1.amazonaws.com/",
        "https://sts-fips.eu-west-1.amazonaws.com/",
        "https://iam.amazonaws.com/",
        "https://sts.amazonaws.com:8443/",
        "https://sts.amazonaws.com:80/",
        "http://sts.amazonaws.com/",
        "HTTP://sts.amazonaws.com/",
        "ftp://sts.amazonaws.com/",
        "//sts.amazonaws.com/",
        "sts.amazonaws.com",
        "https://sts.amazonaws.com/other",
        "https://sts.amazonaws.com//",
        "https://sts.amazonaws.com/%2e%2e/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://sts.amazonaws.com./",
        "https://sts.amazonaws.com\\@evil.example/",
        "https://sts.amazonaws.com%2F@evil.example/",
        "https:///"
      })
  void anythingElseIsRefusedAsAnUnknownEndpoint(String url) {
    assertThatThrownBy(() -> StsEndpoints.check(url, DEFAULT))
        .isInstanceOf(JoinRejectedException.class)
        .satisfies(
            e -> assertThat(((JoinRejectedException) e).code()).isEqualTo(ErrorCode.PROOF_REJECTED))
        .hasMessageStartingWith("rule=sts_endpoint");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "https://sts.amazonaws.com/?Action=GetCallerIdentity",
        "https://sts.amazonaws.com/?",
        "https://sts.amazonaws.com/#x"
      })
  void aQueryStringOrFragmentIsRefused(String url) {
    assertThatThrownBy(() -> StsEndpoints.check(url, DEFAULT))
        .isInstanceOf(JoinRejectedException.class)
        .hasMessageStartingWith("rule=query_string");
  }

  @Test
  void everyRegionalHostHasTheDocumentedShape() {
    assertThat(StsEndpoints.HOSTS)
        .contains(
            "sts.amazonaws.com", "sts.us-east-1.amazonaws.com", "sts.eu-west-1.amazonaws.com");
    assertThat(StsEndpoints.HOSTS)
        .allMatch(
            h -> h.matches(
                "sts(-fips)?(\\.[a-z]{2}(-[a-z]+){1,2}-[0-9])?\\.amazonaws\\.com(\\.cn)?"),
            "sts[-fips].<region>.amazonaws.com[.cn]");
    assertThat(DEFAULT).allMatch(k -> k.endsWith(":443"));
  }

  @Test
  void aConfiguredEndpointIsAllowedOnlyOnItsOwnPort() {
    String key = StsEndpoints.endpointKey("https://localhost:8443");
    assertThat(key).isEqualTo("localhost:8443");
    assertThat(StsEndpoints.endpointKey("Localhost:8443")).isEqualTo("localhost:8443");
    assertThat(StsEndpoints.endpointKey("sts.example.test")).isEqualTo("sts.example.test:443");
    Set<String> allowed = Set.of(key);
    assertThat(StsEndpoints.check("https://localhost:8443/", allowed))
        .hasToString("https://localhost:8443/");
    assertThatThrownBy(() -> StsEndpoints.check("https://localhost/", allowed))
        .hasMessageStartingWith("rule=sts_endpoint");
    assertThatThrownBy(() -> StsEndpoints.check("https://localhost:8444/", allowed))
        .hasMessageStartingWith("rule=sts_endpoint");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "http://localhost:8443",
        "https://user@localhost:8443",
        "https://localhost:8443/path",
        "https://localhost:8443/?a=b",
        "https://",
        "::"
      })
  void aMalformedConfiguredEndpointFailsTheBuild(String entry) {
    assertThatThrownBy(() -> StsEndpoints.endpointKey(entry))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("additional_sts_endpoints");
  }
}
