package dev.machineid.issuer.internal.aws;

import dev.machineid.issuer.InvalidTokenRulesException;
import dev.machineid.issuer.Token;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code allow} rules of {@code iam} and {@code ec2} token resources, and the token look-up both
 * verifiers share. {@code aws_account} is exact and required in every rule (a quoted string of 12
 * digits); {@code aws_arn} ({@code iam} only) is a glob over an IAM or STS ARN of that same account
 * whose {@code *} and {@code ?} never match a {@code /}; {@code aws_regions} ({@code ec2} only) is a
 * list of exact region names. The issuer checks these when a token is created ({@link #validate})
 * and again when one is used.
 */
public final class AwsRules {
  static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");
  /** A region name: {@code us-east-1}, {@code us-gov-west-1}, {@code cn-northwest-1}, {@code us-isob-east-1}. */
  static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+){1,2}-[0-9]{1,2}");
  /**
   * An {@code aws_arn} glob: partition and service exact, the account exact (and equal to the rule's
   * {@code aws_account}), the resource made of ARN characters plus {@code *} and {@code ?}.
   */
  static final Pattern ARN_GLOB = Pattern.compile(
      "arn:(aws|aws-cn|aws-us-gov):(iam|sts)::([0-9]{12}):([A-Za-z0-9+=,.@_/*?-]{1,1900})");

  /** One allow entry. */
  record Rule(String account, String arnGlob, List<String> regions) {}

  private AwsRules() {}

  /**
   * Checks a {@code spec.<method>} block of an {@code iam} or {@code ec2} token at creation.
   *
   * @throws InvalidTokenRulesException naming the refused field and what it must be
   */
  public static void validate(String method, Map<String, Object> block) {
    parse(method, block);
  }

  /** Checks a token's {@code spec.<method>} block and returns its rules; throws naming the field at fault. */
  static List<Rule> parse(String method, Map<String, Object> block) {
    Object allow = block == null ? null : block.get("allow");
    if (!(allow instanceof List<?> entries) || entries.isEmpty()) {
      throw new InvalidTokenRulesException(
          "spec." + method + ".allow",
          "a '" + method + "' token needs spec." + method
              + ".allow with at least one rule naming aws_account");
    }
    List<Rule> out = new ArrayList<>();
    int i = 0;
    for (Object entry : entries) {
      String where = "spec." + method + ".allow[" + i++ + "]";
      if (!(entry instanceof Map<?, ?> m)) {
        throw new InvalidTokenRulesException(where, where + " must be a mapping");
      }
      Object account = m.get("aws_account");
      if (account == null) {
        throw new InvalidTokenRulesException(
            where + ".aws_account",
            where + " needs aws_account, the exact 12-digit AWS account id");
      }
      if (!(account instanceof String a)) {
        throw new InvalidTokenRulesException(
            where + ".aws_account",
            where + ".aws_account must be a quoted string of 12 digits "
                + "(e.g. \"012345678901\") so that leading zeros survive, got the "
                + account.getClass().getSimpleName() + " " + account);
      }
      if (!ACCOUNT.matcher(a).matches()) {
        throw new InvalidTokenRulesException(
            where + ".aws_account",
            where + ".aws_account must be exactly 12 digits "
                + "(globs never apply to an account), got '" + printable(a) + "'");
      }
      String arn = null;
      List<String> regions = List.of();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        String key = String.valueOf(e.getKey());
        switch (key) {
          case "aws_account" -> {}
          case "aws_arn" -> arn = arnGlob(method, where + ".aws_arn", a, e.getValue());
          case "aws_regions" -> regions = regions(method, where + ".aws_regions", e.getValue());
          default ->
            throw new InvalidTokenRulesException(
                where + "." + printable(key),
                where + " has an unknown rule '" + printable(key) + "'; '" + method + "' rules are "
                    + ("iam".equals(method) ? "aws_account, aws_arn" : "aws_account, aws_regions"));
        }
      }
      out.add(new Rule(a, arn, regions));
    }
    return List.copyOf(out);
  }

  private static String arnGlob(String method, String where, String account, Object value) {
    if (!"iam".equals(method)) {
      throw new InvalidTokenRulesException(where, where + ": aws_arn applies to 'iam' tokens only");
    }
    if (!(value instanceof String s) || s.isBlank()) {
      throw new InvalidTokenRulesException(
          where,
          where + " must be a non-empty ARN glob such as arn:aws:sts::" + account
              + ":assumed-role/app/*");
    }
    Matcher m = ARN_GLOB.matcher(s);
    if (!m.matches()) {
      throw new InvalidTokenRulesException(
          where,
          where
              + " must have the form arn:<aws|aws-cn|aws-us-gov>:<iam|sts>::<12-digit account>:<resource>, "
              + "with * and ? only in the resource (they never match '/'), got '" + printable(s)
              + "'");
    }
    if (!m.group(3).equals(account)) {
      throw new InvalidTokenRulesException(
          where,
          where + " names account " + m.group(3) + " but the rule's aws_account is " + account
              + "; it could never match");
    }
    return s;
  }

  private static List<String> regions(String method, String where, Object value) {
    if (!"ec2".equals(method)) {
      throw new InvalidTokenRulesException(
          where, where + ": aws_regions applies to 'ec2' tokens only");
    }
    if (!(value instanceof List<?> l) || l.isEmpty()) {
      throw new InvalidTokenRulesException(
          where,
          where + " must be a non-empty list of region names such as [us-east-1, eu-west-1]");
    }
    List<String> out = new ArrayList<>();
    for (int j = 0; j < l.size(); j++) {
      Object r = l.get(j);
      if (!(r instanceof String s) || !REGION.matcher(s).matches()) {
        throw new InvalidTokenRulesException(
            where + "[" + j + "]",
            where + "[" + j + "] must be an exact region name such as us-east-1 "
                + "(no globs), got '" + printable(String.valueOf(r)) + "'");
      }
      out.add(s);
    }
    return List.copyOf(out);
  }

  /** The token named by the client, checked for method and expiry; throws a rejection naming the rule. */
  static Token token(
      java.util.function.Function<String, Optional<Token>> tokens,
      String name,
      String method,
      Instant now) {
    if (name == null || name.isEmpty()) {
      throw Rejections.reject("token", "no token name was sent");
    }
    Token t = tokens
        .apply(name)
        .orElseThrow(() -> Rejections.reject("token", "no token named '" + printable(name) + "'"));
    if (!method.equals(t.joinMethod())) {
      throw Rejections.reject(
          "token", "token '" + printable(name) + "' is for join method '" + t.joinMethod() + "'");
    }
    if (!now.isBefore(t.expiresAt())) {
      throw Rejections.reject(
          "token", "token '" + printable(name) + "' expired at " + t.expiresAt());
    }
    return t;
  }

  /**
   * True if {@code glob} matches all of {@code text}; {@code *} is any run and {@code ?} one
   * character, neither matching '/'. Time O(|glob|·|text|), no backtracking.
   */
  static boolean glob(String glob, String text) {
    int n = text.length();
    // row[k]: the glob prefix read so far matches text[0, k)
    boolean[] row = new boolean[n + 1];
    row[0] = true;
    for (int gi = 0; gi < glob.length(); gi++) {
      char c = glob.charAt(gi);
      boolean[] next = new boolean[n + 1];
      if (c == '*') {
        for (int k = 0; k <= n; k++) {
          next[k] = row[k] || (k > 0 && next[k - 1] && text.charAt(k - 1) != '/');
        }
      } else {
        for (int k = 1; k <= n; k++) {
          char t = text.charAt(k - 1);
          next[k] = row[k - 1] && (c == '?' ? t != '/' : c == t);
        }
      }
      row = next;
    }
    return row[n];
  }

  static String printable(String s) {
    String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
    return t.replaceAll("\\p{Cntrl}", "?");
  }
}
