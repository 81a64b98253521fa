package dev.machineid.issuer.internal;

import dev.machineid.core.ErrorCode;

/**
 * Keeps text that came from a client inert in every sink (the issuer's log, audit records, the
 * CLI): control characters (C0, DEL, C1) become {@code \xNN} and the Unicode characters that
 * reorder or hide text (bidirectional overrides and isolates, line and paragraph separators)
 * become &#92;u{XXXX}, so that a value can neither start a forged log line nor drive a
 * terminal.
 */
public final class Text {
  private Text() {}

  /** {@code s} with every control or reordering character escaped; {@code null} stays {@code null}. */
  public static String inert(String s) {
    if (s == null) {
      return null;
    }
    int i = 0;
    while (i < s.length() && !unsafe(s.charAt(i))) {
      i++;
    }
    if (i == s.length()) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length() + 8).append(s, 0, i);
    for (; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!unsafe(c)) {
        b.append(c);
      } else if (c < 0x100) {
        b.append("\\x")
            .append(Character.forDigit(c >> 4, 16))
            .append(Character.forDigit(c & 0xf, 16));
      } else {
        b.append("\\u{").append(Integer.toHexString(c)).append('}');
      }
    }
    return b.toString();
  }

  /** True for C0 and C1 controls, DEL, bidirectional controls and the line/paragraph separators. */
  public static boolean unsafe(char c) {
    return c < 0x20
        || (c >= 0x7f && c <= 0x9f)
        || (c >= 0x200e && c <= 0x200f)
        || (c >= 0x2028 && c <= 0x202e)
        || (c >= 0x2066 && c <= 0x2069)
        || c == 0x061c;
  }

  /**
   * Checks a client-supplied field for the edge: at most {@code maxLength} characters and no
   * control or reordering character.
   *
   * @throws ProblemException {@code malformed_request}, quoting the value escaped
   */
  public static String requireInert(String field, String value, int maxLength) {
    if (value == null) {
      return null;
    }
    if (value.length() > maxLength) {
      throw ProblemException.of(
          ErrorCode.MALFORMED_REQUEST,
          "field '" + inert(field) + "' must have at most " + maxLength + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      if (unsafe(value.charAt(i))) {
        throw ProblemException.of(
            ErrorCode.MALFORMED_REQUEST,
            "field '" + inert(field) + "' must not hold control characters, found one at index " + i
                + " in '" + inert(value) + "'");
      }
    }
    return value;
  }
}
