package dev.machineid.issuer.internal;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.protocol.Protocol;
import java.io.IOException;
import java.time.DateTimeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Strict reading of request bodies: one JSON object, no duplicate keys, no trailing data, and
 * fields of exactly the expected JSON type (no coercion of numbers to strings or the reverse).
 */
public final class Json {
  private static final ObjectReader READER = Protocol.reader()
      .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .with(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private Json() {}

  /** Parses a body that must be a JSON object. */
  public static ObjectNode object(byte[] body) {
    JsonNode node;
    try {
      node = READER.readTree(body);
    } catch (JsonProcessingException e) {
      throw malformed("the body is not valid JSON");
    } catch (IOException e) {
      throw malformed("the body is not valid JSON");
    }
    if (node == null || !node.isObject()) {
      throw malformed("the body must be a JSON object");
    }
    return (ObjectNode) node;
  }

  public static String text(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      throw malformed("missing required field '" + field + "'");
    }
    if (!n.isTextual()) {
      throw malformed("field '" + field + "' must be a string");
    }
    if (n.textValue().isEmpty()) {
      throw malformed("field '" + field + "' must not be empty");
    }
    return n.textValue();
  }

  /** A required string already read into a record: {@code value} if present and not empty. */
  public static String required(String value, String field) {
    if (value == null) {
      throw malformed("missing required field '" + field + "'");
    }
    if (value.isEmpty()) {
      throw malformed("field '" + field + "' must not be empty");
    }
    return value;
  }

  /** An optional string; {@code null} when absent or JSON null. */
  public static String optionalText(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw malformed("field '" + field + "' must be a string");
    }
    return n.textValue();
  }

  public static long integer(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      throw malformed("missing required field '" + field + "'");
    }
    if (!n.isIntegralNumber() || !n.canConvertToLong()) {
      throw malformed("field '" + field + "' must be an integer");
    }
    return n.longValue();
  }

  public static boolean bool(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      throw malformed("missing required field '" + field + "'");
    }
    if (!n.isBoolean()) {
      throw malformed("field '" + field + "' must be true or false");
    }
    return n.booleanValue();
  }

  /** An optional object; an empty object when absent or JSON null. */
  public static ObjectNode optionalObject(ObjectNode body, String field) {
    JsonNode n = body.get(field);
    if (n == null || n.isNull()) {
      return Protocol.nodes().objectNode();
    }
    if (!n.isObject()) {
      throw malformed("field '" + field + "' must be a JSON object");
    }
    return (ObjectNode) n;
  }

  /** An optional object whose values are all strings. */
  public static Map<String, String> optionalStringMap(ObjectNode body, String field) {
    ObjectNode o = optionalObject(body, field);
    Map<String, String> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().isTextual()) {
        throw malformed("field '" + field + "." + Text.inert(e.getKey()) + "' must be a string");
      }
      out.put(e.getKey(), e.getValue().textValue());
    }
    return out;
  }

  /**
   * An optional Go-style TTL; {@code fallback} when absent.
   *
   * @throws ProblemException {@code malformed_request} if it does not parse or is under one second,
   *     {@code ttl_exceeded} if above {@code max}
   */
  public static Duration ttl(ObjectNode body, String field, Duration fallback, Duration max) {
    return ttl(optionalText(body, field), field, fallback, max);
  }

  /**
   * {@link #ttl(ObjectNode, String, Duration, Duration)} of a value already read: {@code s} is the
   * field's text or {@code null}.
   */
  public static Duration ttl(String s, String field, Duration fallback, Duration max) {
    if (s == null) {
      return fallback;
    }
    Duration d;
    try {
      d = GoDuration.parse(s);
    } catch (IllegalArgumentException e) {
      throw malformed("field '" + field + "' must be a duration such as 90s, 15m or 1h");
    }
    if (d.compareTo(Duration.ofSeconds(1)) < 0) {
      throw malformed("field '" + field + "' must be at least 1s");
    }
    if (d.compareTo(max) > 0) {
      throw ProblemException.of(
          ErrorCode.TTL_EXCEEDED,
          "requested " + field + " " + s + " exceeds the maximum of " + GoDuration.format(max));
    }
    return d;
  }

  /** The first instant the stores can record (an SQL {@code TIMESTAMP} begins at year 1). */
  static final Instant EARLIEST_RECORDABLE = Instant.parse("0001-01-01T00:00:00Z");
  /** The last instant the stores can record (an SQL {@code TIMESTAMP} ends with year 9999). */
  static final Instant LATEST_RECORDABLE = Instant.parse("9999-12-31T23:59:59Z");

  /**
   * {@code now} moved by {@code d} ({@code sign} 1 forward, -1 back), refused as
   * {@code malformed_request} with {@code tooFar} when the result lies outside what the stores
   * record: an absurd duration must be a 4xx, never an arithmetic or SQL failure.
   */
  public static Instant recordable(Instant now, Duration d, int sign, String tooFar) {
    try {
      Instant t = sign < 0 ? now.minus(d) : now.plus(d);
      if (!t.isBefore(EARLIEST_RECORDABLE) && !t.isAfter(LATEST_RECORDABLE)) {
        return t;
      }
    } catch (DateTimeException | ArithmeticException e) {
      // beyond Instant's own range: as far out of range as can be
    }
    throw malformed(tooFar);
  }

  /** {@code t}, refused as {@code malformed_request} with {@code tooFar} outside what the stores record. */
  public static Instant recordable(Instant t, String tooFar) {
    if (t.isBefore(EARLIEST_RECORDABLE) || t.isAfter(LATEST_RECORDABLE)) {
      throw malformed(tooFar);
    }
    return t;
  }

  public static ProblemException malformed(String detail) {
    return ProblemException.of(ErrorCode.MALFORMED_REQUEST, detail);
  }
}
