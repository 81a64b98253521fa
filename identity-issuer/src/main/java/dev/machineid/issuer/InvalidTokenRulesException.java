package dev.machineid.issuer;

import java.util.Objects;

/**
 * A token's rules (its {@code spec.<join method>} block) were refused when the token was created:
 * {@link #field()} names the offending field, for example {@code spec.iam.allow[0].aws_account},
 * and the message says what was expected. A subclass of {@link IllegalArgumentException}, so callers
 * that catch that keep working.
 */
public final class InvalidTokenRulesException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** The path of the refused field. */
  private final String field;

  public InvalidTokenRulesException(String field, String message) {
    super(message);
    this.field = Objects.requireNonNull(field, "field");
  }

  /** The path of the refused field within the token resource, e.g. {@code spec.ec2.allow[1].aws_regions[0]}. */
  public String field() {
    return field;
  }
}
