package dev.machineid.issuer.internal.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.InvalidTokenRulesException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The allow rules of iam and ec2 tokens: aws_account exact, aws_arn glob, aws_regions exact. */
class AwsRulesTest {
  static final String ACCOUNT = "123456789012";

  static Map<String, Object> allow(Map<String, Object> rule) {
    return Map.of("allow", List.of(rule));
  }

  static InvalidTokenRulesException refused(String method, Map<String, Object> rule) {
    try {
      AwsRules.validate(method, allow(rule));
    } catch (InvalidTokenRulesException e) {
      return e;
    }
    throw new AssertionError("rule " + rule + " of a " + method + " token was accepted");
  }

  @Test
  void aValidRuleParsesIntoItsParts() {
    List<AwsRules.Rule> iam = AwsRules.parse(
        "iam",
        allow(Map.of(
            "aws_account", ACCOUNT, "aws_arn", "arn:aws:sts::" + ACCOUNT + ":assumed-role/app/*")));
    assertThat(iam)
        .containsExactly(new AwsRules.Rule(
            ACCOUNT, "arn:aws:sts::" + ACCOUNT + ":assumed-role/app/*", List.of()));
    List<AwsRules.Rule> ec2 = AwsRules.parse(
        "ec2",
        allow(Map.of(
            "aws_account",
            "012345678901",
            "aws_regions",
            List.of("us-east-1", "us-gov-west-1", "cn-northwest-1"))));
    assertThat(ec2)
        .containsExactly(new AwsRules.Rule(
            "012345678901", null, List.of("us-east-1", "us-gov-west-1", "cn-northwest-1")));
  }

  @Test
  void aTokenWithoutAwsAccountIsRefusedNamingTheField() {
    assertThat(refused("iam", Map.of("aws_arn", "arn:aws:iam::" + ACCOUNT + ":role/app"))
            .field())
        .isEqualTo("spec.iam.allow[0].aws_account");
    assertThat(refused("ec2", Map.of("aws_regions", List.of("us-east-1"))).field())
        .isEqualTo("spec.ec2.allow[0].aws_account");
    assertThatThrownBy(() -> AwsRules.validate("iam", Map.of()))
        .isInstanceOf(InvalidTokenRulesException.class)
        .hasMessageContaining("aws_account");
    assertThatThrownBy(() -> AwsRules.validate("ec2", Map.of("allow", List.of())))
        .isInstanceOf(InvalidTokenRulesException.class);
  }

  @Test
  void anAwsAccountThatIsNotExactlyTwelveDigitsIsRefused() {
    for (String bad : List.of(
        "12345678901",
        "1234567890123",
        "12345678901a",
        "*",
        "12345678901*",
        "1234-5678-9012",
        " 123456789012",
        "123456789012\n",
        "")) {
      InvalidTokenRulesException e = refused("iam", Map.of("aws_account", bad));
      assertThat(e.field()).as(bad).isEqualTo("spec.iam.allow[0].aws_account");
      assertThat(e).hasMessageContaining("12 digits");
    }
  }

  @Test
  void anUnquotedNumericAwsAccountIsRefusedBecauseLeadingZerosWouldBeLost() {
    InvalidTokenRulesException e = refused("ec2", Map.of("aws_account", 12345678901L));
    assertThat(e.field()).isEqualTo("spec.ec2.allow[0].aws_account");
    assertThat(e).hasMessageContaining("quoted string");
  }

  @Test
  void aRegionEntryThatIsNotARegionNameIsRefusedNamingItsIndex() {
    for (Object bad : List.of(
        "us-east-*", "US-EAST-1", "us-east", "useast1", "us_east_1", "us-east-1a", "", "*", 1)) {
      List<Object> regions = new ArrayList<>(List.of("eu-west-1"));
      regions.add(bad);
      InvalidTokenRulesException e =
          refused("ec2", Map.of("aws_account", ACCOUNT, "aws_regions", regions));
      assertThat(e.field()).as(String.valueOf(bad)).isEqualTo("spec.ec2.allow[0].aws_regions[1]");
    }
    assertThat(refused("ec2", Map.of("aws_account", ACCOUNT, "aws_regions", List.of()))
            .field())
        .isEqualTo("spec.ec2.allow[0].aws_regions");
    assertThat(refused("ec2", Map.of("aws_account", ACCOUNT, "aws_regions", "us-east-1"))
            .field())
        .isEqualTo("spec.ec2.allow[0].aws_regions");
  }

  @Test
  void aMalformedArnGlobIsRefused() {
    for (String bad : List.of(
        "*",
        "arn:aws:iam::*:role/app",
        "arn:aws:iam::" + ACCOUNT + "*:role/app",
        "arn:*:iam::" + ACCOUNT + ":role/app",
        "arn:aws:*::" + ACCOUNT + ":role/app",
        "arn:aws:s3:::bucket",
        "arn:aws:iam::" + ACCOUNT + ":",
        "arn:aws:iam::" + ACCOUNT + ":role/app name",
        "arn:aws:iam::210987654321:role/app",
        " arn:aws:iam::" + ACCOUNT + ":role/app",
        "")) {
      InvalidTokenRulesException e = refused("iam", Map.of("aws_account", ACCOUNT, "aws_arn", bad));
      assertThat(e.field()).as(bad).isEqualTo("spec.iam.allow[0].aws_arn");
    }
  }

  @Test
  void aRuleOfTheOtherMethodOrAnUnknownRuleIsRefused() {
    assertThat(refused(
                "ec2",
                Map.of("aws_account", ACCOUNT, "aws_arn", "arn:aws:iam::" + ACCOUNT + ":role/app"))
            .field())
        .isEqualTo("spec.ec2.allow[0].aws_arn");
    assertThat(refused("iam", Map.of("aws_account", ACCOUNT, "aws_regions", List.of("us-east-1")))
            .field())
        .isEqualTo("spec.iam.allow[0].aws_regions");
    assertThat(refused("iam", Map.of("aws_account", ACCOUNT, "aws_role", "x")).field())
        .isEqualTo("spec.iam.allow[0].aws_role");
    Map<String, Object> second = new HashMap<>();
    second.put("aws_account", "1");
    InvalidTokenRulesException e = assertThrows(() ->
        AwsRules.validate("iam", Map.of("allow", List.of(Map.of("aws_account", ACCOUNT), second))));
    assertThat(e.field()).isEqualTo("spec.iam.allow[1].aws_account");
  }

  private static InvalidTokenRulesException assertThrows(Runnable r) {
    try {
      r.run();
    } catch (InvalidTokenRulesException e) {
      return e;
    }
    throw new AssertionError("accepted");
  }

  @ParameterizedTest(name = "{0} ~ {1} = {2}")
  @CsvSource({
    "arn:aws:iam::123456789012:role/app, arn:aws:iam::123456789012:role/app, true",
    "arn:aws:iam::123456789012:role/app, arn:aws:iam::123456789012:role/app2, false",
    "arn:aws:iam::123456789012:role/app, arn:aws:iam::123456789012:role/ap, false",
    "arn:aws:iam::123456789012:role/*, arn:aws:iam::123456789012:role/app, true",
    "arn:aws:iam::123456789012:role/*, arn:aws:iam::123456789012:role/, true",
    "arn:aws:iam::123456789012:role/*, arn:aws:iam::123456789012:role/path/app, false",
    "arn:aws:iam::123456789012:role/*/app, arn:aws:iam::123456789012:role/path/app, true",
    "arn:aws:sts::123456789012:assumed-role/app/*, arn:aws:sts::123456789012:assumed-role/app/i-0123456789abcdef0, true",
    "arn:aws:sts::123456789012:assumed-role/app/*, arn:aws:sts::123456789012:assumed-role/app2/session, false",
    "arn:aws:sts::123456789012:assumed-role/app/*, arn:aws:sts::123456789012:assumed-role/app/a/b, false",
    "arn:aws:sts::123456789012:assumed-role/*/*, arn:aws:sts::123456789012:assumed-role/any/s, true",
    "arn:aws:sts::123456789012:assumed-role/app-?/s, arn:aws:sts::123456789012:assumed-role/app-1/s, true",
    "arn:aws:sts::123456789012:assumed-role/app-?/s, arn:aws:sts::123456789012:assumed-role/app-12/s, false",
    "arn:aws:sts::123456789012:assumed-role/app?x/s, arn:aws:sts::123456789012:assumed-role/app/x/s, false",
    "arn:aws:iam::123456789012:user/*, arn:aws:sts::123456789012:assumed-role/user/x, false",
    "arn:aws:iam::123456789012:role/a*b*c, arn:aws:iam::123456789012:role/aXbYc, true",
    "arn:aws:iam::123456789012:role/a*b*c, arn:aws:iam::123456789012:role/aXbY, false",
    "arn:aws:iam::123456789012:role/**, arn:aws:iam::123456789012:role/x, true"
  })
  void arnGlobsMatchWholeArnsAndNeverCrossASlash(String glob, String arn, boolean matches) {
    assertThat(AwsRules.glob(glob, arn)).isEqualTo(matches);
  }

  @Test
  @Timeout(5)
  void aGlobWithManyStarsIsMatchedWithoutBacktrackingBlowUp() {
    String glob = "arn:aws:iam::123456789012:role/" + "*a".repeat(40) + "b";
    String arn = "arn:aws:iam::123456789012:role/" + "a".repeat(1500);
    long start = System.nanoTime();
    assertThat(AwsRules.glob(glob, arn)).isFalse();
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
  }
}
