package dev.machineid.core.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProtocolSettingsTest {
  private static final Instant AT = Instant.parse("2030-01-01T00:00:00Z");

  /** Every JSON object {@link Protocol} hands out, reconfigured as a careless caller might. */
  private static List<Object> reconfigureEverythingHandedOut() throws Exception {
    List<Object> out = new ArrayList<>();
    for (Method m : Protocol.class.getMethods()) {
      if (!Modifier.isStatic(m.getModifiers()) || m.getParameterCount() != 0) {
        continue;
      }
      Object o = m.invoke(null);
      if (o instanceof ObjectMapper mapper) {
        mapper.configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, true);
        mapper.configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, false);
        out.add(o);
      } else if (o instanceof ObjectWriter w) {
        out.add(w.with(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS));
      } else if (o instanceof ObjectReader r) {
        out.add(r.without(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES));
      }
    }
    return out;
  }

  @Test
  void aCallerCannotChangeHowTheProtocolWritesOrReadsTheWire() throws Exception {
    assertThat(reconfigureEverythingHandedOut()).isNotEmpty();

    // for every other caller, instants stay RFC 3339 text and a null number stays an error
    ChallengeResponse written = new ChallengeResponse("c1", AT);
    String json = new String(Protocol.writer().writeValueAsBytes(written), StandardCharsets.UTF_8);
    assertThat(json).isEqualTo("{\"challenge\":\"c1\",\"expires_at\":\"2030-01-01T00:00:00Z\"}");
    assertThat(Protocol.reader()
            .readValue(json.getBytes(StandardCharsets.UTF_8), ChallengeResponse.class))
        .isEqualTo(written);
    byte[] nullGeneration =
        "{\"generation\":null,\"public_key\":\"k\"}".getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> Protocol.reader().readValue(nullGeneration, RenewRequest.class))
        .isInstanceOf(MismatchedInputException.class);
    assertThat(Protocol.toTree(java.util.Map.of("at", AT)).get("at").isTextual())
        .isTrue();
    java.util.Map<String, Object> renew = new java.util.HashMap<>();
    renew.put("generation", null);
    assertThatThrownBy(() -> Protocol.convert(renew, RenewRequest.class))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aNewMapperReadsAndWritesLikeTheProtocolButBelongsToItsCaller() throws Exception {
    ObjectMapper own = Protocol.newMapper();
    assertThat(own).isNotSameAs(Protocol.newMapper());
    assertThat(own.writeValueAsString(AT)).isEqualTo(Protocol.writer().writeValueAsString(AT));
    own.configure(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS, true);
    assertThat(Protocol.writer().writeValueAsString(AT)).isEqualTo("\"2030-01-01T00:00:00Z\"");
  }
}
