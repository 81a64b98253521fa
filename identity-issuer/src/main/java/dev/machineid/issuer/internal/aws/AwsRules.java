package dev.machineid.issuer.internal.aws;

import dev.machineid.issuer.Token;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code allow} rules of {@code iam} and {@code ec2} token resources, and the token look-up both
 * verifiers share. {@code aws_account} is exact and required in every rule; {@code aws_arn} is a
 * glob whose {@code *} and {@code ?} never match a {@code /}; {@code aws_regions} is a list of exact
 * region names.
 */
final class AwsRules {
  static final Pattern ACCOUNT = Pattern.compile("[0-9]{12}");

  /** One allow entry. */
  record Rule(String account, String arnGlob, List<String> regions) {}

  private AwsRules() {}

  /** Checks a token's {@code spec.<method>} block and returns its rules; throws naming the fault. */
  static List<Rule> parse(String method, Map<String, Object> block) {
    Object allow = block == null ? null : block.get("allow");
    if (!(allow instanceof List<?> entries) || entries.isEmpty()) {
      throw new IllegalArgumentException("a '" + method + "' token needs spec." + method + ".allow with at least one rule naming aws_account");
    }
    List<Rule> out = new ArrayList<>();
    int i = 0;
    for (Object entry : entries) {
      String where = "spec." + method + ".allow[" + i++ + "]";
      if (!(entry instanceof Map<?, ?> m)) {
        throw new IllegalArgumentException(where + " must be a mapping");
      }
      Object account = m.get("aws_account");
      if (account instanceof Number n) {
        account = String.format("%012d", n.longValue());
      }
      if (!(account instanceof String a) || !ACCOUNT.matcher(a).matches()) {
        throw new IllegalArgumentException(where + " needs aws_account, an exact 12-digit AWS account id (globs never apply to an account), got " + account);
      }
      String arn = null;
      List<String> regions = List.of();
      for (Map.Entry<?, ?> e : m.entrySet()) {
        String key = String.valueOf(e.getKey());
        switch (key) {
          case "aws_account" -> {}
          case "aws_arn" -> {
            if (!"iam".equals(method) || !(e.getValue() instanceof String s) || s.isBlank()) {
              throw new IllegalArgumentException(where + ".aws_arn is a non-empty glob and applies to 'iam' tokens only");
            }
            arn = s;
          }
          case "aws_regions" -> {
            if (!"ec2".equals(method) || !(e.getValue() instanceof List<?> l) || l.isEmpty() || !l.stream().allMatch(r -> r instanceof String s && !s.isBlank())) {
              throw new IllegalArgumentException(where + ".aws_regions is a non-empty list of region names and applies to 'ec2' tokens only");
            }
            regions = l.stream().map(String::valueOf).toList();
          }
          default -> throw new IllegalArgumentException(where + " has an unknown rule '" + key + "'; '" + method + "' rules are "
              + ("iam".equals(method) ? "aws_account, aws_arn" : "aws_account, aws_regions"));
        }
      }
      out.add(new Rule((String) account, arn, regions));
    }
    return List.copyOf(out);
  }

  /** The token named by the client, checked for method and expiry; throws a rejection naming the rule. */
  static Token token(java.util.function.Function<String, Optional<Token>> tokens, String name, String method, Instant now) {
    if (name == null || name.isEmpty()) {
      throw Rejections.reject("token", "no token name was sent");
    }
    Token t = tokens.apply(name).orElseThrow(() -> Rejections.reject("token", "no token named '" + printable(name) + "'"));
    if (!method.equals(t.joinMethod())) {
      throw Rejections.reject("token", "token '" + printable(name) + "' is for join method '" + t.joinMethod() + "'");
    }
    if (!now.isBefore(t.expiresAt())) {
      throw Rejections.reject("token", "token '" + printable(name) + "' expired at " + t.expiresAt());
    }
    return t;
  }

  /** True if {@code glob} matches all of {@code text}; {@code *} is any run and {@code ?} one character, neither crossing '/'. */
  static boolean glob(String glob, String text) {
    return glob(glob, 0, text, 0);
  }

  private static boolean glob(String g, int gi, String t, int ti) {
    while (gi < g.length()) {
      char c = g.charAt(gi);
      if (c == '*') {
        // try every length of a run without '/'
        for (int k = ti; ; k++) {
          if (glob(g, gi + 1, t, k)) {
            return true;
          }
          if (k >= t.length() || t.charAt(k) == '/') {
            return false;
          }
        }
      }
      if (ti >= t.length()) {
        return false;
      }
      if (c == '?' ? t.charAt(ti) == '/' : c != t.charAt(ti)) {
        return false;
      }
      gi++;
      ti++;
    }
    return ti == t.length();
  }

  static String printable(String s) {
    String t = s.length() > 64 ? s.substring(0, 64) + "…" : s;
    return t.replaceAll("\\p{Cntrl}", "?");
  }
}
