package dev.machineid.core.protocol;

import java.time.Duration;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as Go writes them ({@code 90s}, {@code 15m}, {@code 1h30m}, {@code 250ms}): the wire and config form. */
public final class GoDuration {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|h|m|s)");

  private GoDuration() {}

  public static Duration parse(String text) {
    Objects.requireNonNull(text, "text");
    String s = text.trim();
    if (s.isEmpty()) {
      throw new IllegalArgumentException("empty duration; use a form such as 90s, 15m or 1h");
    }
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = PART.matcher(s);
    int at = 0;
    Duration total = Duration.ZERO;
    while (at < s.length()) {
      if (!m.find(at) || m.start() != at) {
        throw new IllegalArgumentException(
            "invalid duration '" + text + "'; use a form such as 90s, 15m or 1h");
      }
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("duration '" + text + "' is too large", e);
      }
      try {
        switch (m.group(2)) {
          case "h" -> total = total.plusHours(n);
          case "m" -> total = total.plusMinutes(n);
          case "s" -> total = total.plusSeconds(n);
          default -> total = total.plusMillis(n);
        }
      } catch (ArithmeticException e) {
        throw new IllegalArgumentException("duration '" + text + "' is too large", e);
      }
      at = m.end();
    }
    return total;
  }

  public static String format(Duration d) {
    Objects.requireNonNull(d, "duration");
    if (d.isNegative()) {
      throw new IllegalArgumentException("negative duration " + d);
    }
    if (d.isZero()) {
      return "0s";
    }
    StringBuilder sb = new StringBuilder();
    long h = d.toHours();
    int m = d.toMinutesPart();
    int s = d.toSecondsPart();
    int ms = d.toMillisPart();
    if (h > 0) sb.append(h).append('h');
    if (m > 0) sb.append(m).append('m');
    if (s > 0) sb.append(s).append('s');
    if (ms > 0) sb.append(ms).append("ms");
    return sb.toString();
  }
}
