package dev.machineid.core.protocol;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** Constants and the JSON mapping of protocol v1, shared by the SDK and the issuer. */
public final class Protocol {
  public static final String PROBLEM_JSON = "application/problem+json";
  public static final String JSON = "application/json";
  public static final String AUTHORITY_PATH = "/v1/authority";
  public static final String CHALLENGE_PATH = "/v1/join/challenge";
  public static final String JOIN_PATH = "/v1/join";
  public static final String RENEW_PATH = "/v1/renew";
  public static final String CERTIFICATES_PATH = "/v1/certificates";
  public static final String HEARTBEAT_PATH = "/v1/heartbeat";

  private static final ObjectMapper MAPPER =
      JsonMapper.builder()
          .addModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .disable(DeserializationFeature.ADJUST_DATES_TO_CONTEXT_TIME_ZONE)
          .build();

  private Protocol() {}

  /** A shared, thread-safe mapper configured for the wire format (RFC 3339 instants, snake_case records). */
  public static ObjectMapper mapper() {
    return MAPPER;
  }
}
