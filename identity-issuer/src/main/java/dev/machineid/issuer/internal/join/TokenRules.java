package dev.machineid.issuer.internal.join;

import dev.machineid.issuer.InvalidTokenRulesException;
import dev.machineid.issuer.internal.aws.AwsRules;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Checks the join-method block of a token resource (docs/architecture.md §6): every delegated method needs at
 * least one identifying rule in each {@code allow} entry, and identifying values that name an owner
 * or an account are exact (no globs).
 */
public final class TokenRules {
  /** Join methods this project defines, with the rule keys that identify a workload. */
  private static final Map<String, List<String>> IDENTIFYING = Map.of(
      "iam", List.of("aws_account"),
      "ec2", List.of("aws_account"),
      "gcp", List.of("project_ids"),
      "azure", List.of("subscription", "tenant"),
      "kubernetes", List.of("service_account"),
      "github", List.of("repository", "repository_owner", "repository_id", "repository_owner_id"),
      "gitlab", List.of("project_path", "namespace_path", "project_id"),
      "circleci", List.of("project_id", "organization_id"),
      "oidc", List.of("sub"));

  private static final Set<String> EXACT = Set.of(
      "aws_account",
      "repository_owner",
      "repository_owner_id",
      "repository_id",
      "subscription",
      "tenant",
      "organization_id");

  private TokenRules() {}

  /** The join methods docs/architecture.md §6 defines. */
  public static boolean known(String method) {
    return "token".equals(method) || IDENTIFYING.containsKey(method);
  }

  /**
   * @param rules the {@code spec.<method>} block ({@code {allow: [{...}, ...], ...}})
   * @throws InvalidTokenRulesException naming the method, the entry and the keys that would identify
   */
  public static void validate(String method, Map<String, Object> rules) {
    if ("token".equals(method)) {
      if (rules != null && !rules.isEmpty()) {
        throw new InvalidTokenRulesException(
            "spec.token", "a 'token' join token takes no rules; remove spec.token");
      }
      return;
    }
    List<String> identifying = IDENTIFYING.get(method);
    String hint = identifying == null ? "an identifying rule" : String.join(", ", identifying);
    Object allow = rules == null ? null : rules.get("allow");
    if (!(allow instanceof List<?> entries) || entries.isEmpty()) {
      throw new InvalidTokenRulesException(
          "spec." + method + ".allow",
          "a '" + method + "' token needs spec." + method + ".allow with at least one rule naming "
              + hint
              + " (docs/architecture.md §6: every delegated join method needs an identifying rule)");
    }
    int i = 0;
    for (Object entry : entries) {
      if (!(entry instanceof Map<?, ?> rule)) {
        throw new InvalidTokenRulesException(
            "spec." + method + ".allow[" + i + "]",
            "spec." + method + ".allow[" + i + "] must be a mapping of rule names to values");
      }
      boolean identified = false;
      for (Map.Entry<?, ?> e : rule.entrySet()) {
        String key = String.valueOf(e.getKey());
        Object v = e.getValue();
        boolean present = v instanceof String s
            ? !s.isBlank()
            : v instanceof List<?> l ? !l.isEmpty() : v != null;
        if (present && (identifying == null || identifying.contains(key))) {
          identified = true;
        }
        if (EXACT.contains(key) && String.valueOf(v).contains("*")) {
          throw new InvalidTokenRulesException(
              "spec." + method + ".allow[" + i + "]." + key,
              "spec." + method + ".allow[" + i + "]." + key
                  + " must be exact; globs never apply to an owner or account");
        }
        if ("service_account".equals(key)
            && !(v instanceof String s && s.matches("[a-z0-9][a-z0-9.-]*:[a-z0-9][a-z0-9.-]*"))) {
          throw new InvalidTokenRulesException(
              "spec." + method + ".allow[" + i + "].service_account",
              "spec." + method + ".allow[" + i
                  + "].service_account must be namespace:serviceaccount, got '" + v + "'");
        }
      }
      if (!identified) {
        throw new InvalidTokenRulesException(
            "spec." + method + ".allow[" + i + "]",
            "spec." + method + ".allow[" + i + "] has no identifying rule; a '" + method
                + "' token rule must name " + hint);
      }
      i++;
    }
    if (method.equals("iam") || method.equals("ec2")) {
      AwsRules.validate(method, rules); // the values' shapes: account, region names, ARN globs
    }
  }
}
