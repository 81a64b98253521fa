package dev.machineid.core.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.Optional;

/**
 * Reads the problem document ({@code application/problem+json}, RFC 9457) of an error answer, for
 * every client of the issuer (the SDK's and the admin client). Lenient, because the answer may come
 * from a proxy in front of the issuer: members of the wrong type are left out, unknown members are
 * ignored, and a body that is not a JSON object is no problem document at all. Its text ends up in
 * log lines and exception messages, so control and bidirectional-format characters are replaced by
 * {@code ?} (an answer cannot forge a log line or hide text) and each member is cut to
 * {@link #MAX_TEXT} characters.
 */
public final class ProblemDocuments {
  /** The most characters kept of one member; longer text is cut and ends with {@code …}. */
  public static final int MAX_TEXT = 1000;

  private ProblemDocuments() {}

  /** The problem document {@code body} holds, or empty if it is not one (not JSON, not an object, empty). */
  public static Optional<Problem> parse(byte[] body) {
    if (body == null || body.length == 0) {
      return Optional.empty();
    }
    JsonNode n;
    try {
      n = Protocol.reader().readTree(body);
    } catch (IOException e) {
      return Optional.empty();
    }
    if (n == null || !n.isObject()) {
      return Optional.empty();
    }
    return Optional.of(new Problem(
        text(n, "type"),
        text(n, "title"),
        n.path("status").isInt() ? n.get("status").intValue() : 0,
        text(n, "detail"),
        text(n, "code")));
  }

  /** {@link #parse(byte[])} of a body already read as text. */
  public static Optional<Problem> parse(String body) {
    return parse(body == null ? null : body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** What a problem says to a person: its {@code detail}, else its {@code title}; {@code null} if neither. */
  public static String explanation(Problem p) {
    return p.detail() != null ? p.detail() : p.title();
  }

  private static String text(JsonNode n, String member) {
    JsonNode v = n.get(member);
    return v != null && v.isTextual() ? printable(v.textValue()) : null;
  }

  private static String printable(String s) {
    StringBuilder b = new StringBuilder(Math.min(s.length(), MAX_TEXT + 1));
    for (int i = 0; i < s.length() && b.length() < MAX_TEXT; i++) {
      char c = s.charAt(i);
      int type = Character.getType(c);
      // U+2028 and U+2029 end a line for some log readers as LF does
      boolean unsafe = Character.isISOControl(c)
          || type == Character.FORMAT
          || type == Character.LINE_SEPARATOR
          || type == Character.PARAGRAPH_SEPARATOR;
      b.append(unsafe ? '?' : c);
    }
    if (b.length() < s.length()) {
      b.append('\u2026');
    }
    return b.toString();
  }
}
