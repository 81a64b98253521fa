package dev.machineid.core.protocol;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * Constants and the JSON mapping of protocol v1, shared by the SDK and the issuer. The mapping is
 * handed out only as immutable {@link ObjectReader}/{@link ObjectWriter}s and conversions, so no
 * caller can change how every other caller reads or writes the wire; a caller that needs a mapper
 * of its own (with extra settings) starts from {@link #newMapper()}.
 */
public final class Protocol {
  public static final String PROBLEM_JSON = "application/problem+json";
  public static final String JSON = "application/json";
  public static final String AUTHORITY_PATH = "/v1/authority";
  public static final String CHALLENGE_PATH = "/v1/join/challenge";
  public static final String JOIN_PATH = "/v1/join";
  public static final String RENEW_PATH = "/v1/renew";
  public static final String CERTIFICATES_PATH = "/v1/certificates";
  public static final String HEARTBEAT_PATH = "/v1/heartbeat";

  private static final ObjectMapper MAPPER = newMapper();
  private static final ObjectReader READER = MAPPER.reader();
  private static final ObjectWriter WRITER = MAPPER.writer();

  private Protocol() {}

  /**
   * A new mapper configured for the wire format (RFC 3339 instants, snake_case records), owned by the
   * caller: changing it changes nothing for anyone else.
   */
  public static JsonMapper newMapper() {
    return JsonMapper.builder()
        .addModule(new JavaTimeModule())
        .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
        .build();
  }

  /** Reads the wire format; immutable and thread-safe ({@code with(...)} returns a new reader). */
  public static ObjectReader reader() {
    return READER;
  }

  /** Writes the wire format; immutable and thread-safe ({@code with(...)} returns a new writer). */
  public static ObjectWriter writer() {
    return WRITER;
  }

  /** Makes JSON trees ({@code objectNode()}, {@code arrayNode()}, ...); stateless. */
  public static JsonNodeFactory nodes() {
    return MAPPER.getNodeFactory();
  }

  /** The value as the wire format's JSON tree. */
  public static <T extends JsonNode> T toTree(Object value) {
    return MAPPER.valueToTree(value);
  }

  /** Converts a value through the wire format's JSON mapping to another type. */
  public static <T> T convert(Object value, Class<T> type) {
    return MAPPER.convertValue(value, type);
  }
}
