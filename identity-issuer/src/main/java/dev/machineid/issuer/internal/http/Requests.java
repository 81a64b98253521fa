package dev.machineid.issuer.internal.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidNullException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.internal.Json;
import dev.machineid.issuer.internal.ProblemException;
import java.util.Collection;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a request body (a JSON object, already checked by {@link Json#object}) into the record of
 * its call: the protocol's request records and the admin API's. Strict about types as the protocol
 * is: no coercion of numbers to strings, strings to numbers or booleans, or fractions to integers.
 * Fields the record does not have are ignored (a newer client may send more). Every refusal is
 * {@code malformed_request} naming the field: a wrong JSON type ({@code field 'generation' must be
 * an integer}) or the record's own validation, whose {@link IllegalArgumentException} message
 * names the field already.
 */
public final class Requests {
  private static final Pattern MISSING_CREATOR_PROPERTY =
      Pattern.compile("Missing required creator property '([^']*)'");

  private static final ObjectMapper STRICT = strict();

  private Requests() {}

  private static ObjectMapper strict() {
    return Protocol.newMapper()
        .rebuild()
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .withCoercionConfig(
            LogicalType.Textual, c -> c.setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
        .withCoercionConfig(
            LogicalType.Integer, c -> c.setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
        .withCoercionConfig(
            LogicalType.Boolean, c -> c.setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail))
        .build();
  }

  /**
   * {@code body} as a {@code type}.
   *
   * @throws ProblemException {@code malformed_request} naming the refused field
   */
  public static <T> T read(ObjectNode body, Class<T> type) {
    try {
      return STRICT.treeToValue(body, type);
    } catch (ValueInstantiationException e) {
      Throwable cause = e.getCause();
      if (cause instanceof ProblemException p) {
        throw p;
      }
      if (cause instanceof IllegalArgumentException) {
        throw Json.malformed(cause.getMessage());
      }
      throw Json.malformed("the body is not a valid request: " + field(e));
    } catch (InvalidNullException e) {
      throw Json.malformed("missing required field '" + field(e) + "'");
    } catch (MismatchedInputException e) {
      Matcher m = MISSING_CREATOR_PROPERTY.matcher(String.valueOf(e.getOriginalMessage()));
      if (m.find()) {
        throw Json.malformed("missing required field '" + m.group(1) + "'");
      }
      throw Json.malformed("field '" + field(e) + "' must be " + describe(e.getTargetType()));
    } catch (JsonMappingException e) {
      throw Json.malformed("field '" + field(e) + "' is not valid");
    } catch (JsonProcessingException e) {
      throw Json.malformed("the body is not valid JSON");
    }
  }

  /** The refused field's path as a client wrote it: {@code outputs.web}, {@code names[2]}. */
  static String field(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) {
        sb.append(sb.length() == 0 ? "" : ".").append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    // made inert by the ProblemException that carries it
    return sb.length() == 0 ? "(the body)" : sb.toString();
  }

  private static String describe(Class<?> type) {
    if (type == null) {
      return "of another type";
    }
    if (type == String.class || type.isEnum()) {
      return "a string";
    }
    if (type == long.class || type == Long.class || type == int.class || type == Integer.class) {
      return "an integer";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (Collection.class.isAssignableFrom(type) || type.isArray()) {
      return "a list";
    }
    if (Map.class.isAssignableFrom(type)
        || JsonNode.class.isAssignableFrom(type)
        || type.isRecord()) {
      return "a JSON object";
    }
    return "of another type";
  }
}
