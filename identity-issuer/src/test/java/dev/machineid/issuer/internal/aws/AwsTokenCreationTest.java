package dev.machineid.issuer.internal.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.machineid.issuer.InvalidTokenRulesException;
import dev.machineid.issuer.Issuer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** iam and ec2 tokens with bad rules are refused when they are created, naming the field. */
class AwsTokenCreationTest {
  Issuer issuer;

  @BeforeEach
  void start() {
    issuer = Issuer.builder().trustDomain("example.test").build();
    issuer.bots().create("app");
  }

  @AfterEach
  void stop() {
    issuer.close();
  }

  void create(String name, String method, Map<String, Object> rule) {
    issuer
        .tokens()
        .create(
            name,
            "app",
            method,
            Instant.now().plus(Duration.ofHours(1)),
            Map.of("allow", List.of(rule)));
  }

  void refused(String method, Map<String, Object> rule, String field) {
    assertThatThrownBy(() -> create("refused-" + method, method, rule))
        .isInstanceOf(InvalidTokenRulesException.class)
        .satisfies(e -> assertThat(((InvalidTokenRulesException) e).field()).isEqualTo(field));
    assertThat(issuer.tokens().list())
        .noneMatch(t -> t.name() != null && t.name().startsWith("refused-"));
  }

  @Test
  void validIamAndEc2TokensAreCreated() {
    create(
        "iam-ok",
        "iam",
        Map.of(
            "aws_account",
            "123456789012",
            "aws_arn",
            "arn:aws:sts::123456789012:assumed-role/app/*"));
    create(
        "ec2-ok",
        "ec2",
        Map.of("aws_account", "123456789012", "aws_regions", List.of("us-east-1", "eu-west-1")));
    assertThat(issuer.tokens().list()).extracting(t -> t.name()).contains("iam-ok", "ec2-ok");
  }

  @Test
  void anAccountThatIsNotTwelveDigitsIsRefusedAtCreation() {
    refused("iam", Map.of("aws_account", "12345"), "spec.iam.allow[0].aws_account");
    refused("ec2", Map.of("aws_account", "1234567890123"), "spec.ec2.allow[0].aws_account");
    refused("ec2", Map.of("aws_account", 123456789012L), "spec.ec2.allow[0].aws_account");
  }

  @Test
  void aTokenWithoutAwsAccountIsRefusedAtCreation() {
    refused("iam", Map.of("aws_arn", "arn:aws:iam::123456789012:role/app"), "spec.iam.allow[0]");
    refused("ec2", Map.of("aws_regions", List.of("us-east-1")), "spec.ec2.allow[0]");
  }

  @Test
  void aRegionThatIsNotARegionNameIsRefusedAtCreation() {
    refused(
        "ec2",
        Map.of("aws_account", "123456789012", "aws_regions", List.of("us-east-1", "us-*")),
        "spec.ec2.allow[0].aws_regions[1]");
  }

  @Test
  void aMalformedArnGlobIsRefusedAtCreation() {
    refused(
        "iam",
        Map.of("aws_account", "123456789012", "aws_arn", "arn:aws:iam::*:role/app"),
        "spec.iam.allow[0].aws_arn");
    refused(
        "iam",
        Map.of("aws_account", "123456789012", "aws_arn", "role/app"),
        "spec.iam.allow[0].aws_arn");
  }
}
