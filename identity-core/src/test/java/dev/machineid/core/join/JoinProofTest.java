package dev.machineid.core.join;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.JoinException;
import dev.machineid.core.internal.client.IssuerClient;
import dev.machineid.core.protocol.Protocol;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JoinProofTest {
  private static final JoinMethod METHOD = new TokenJoinMethod("t0k3n");

  @Test
  void theTokenMethodSendsAnEmptyObject() throws Exception {
    assertThat(
            Protocol.writer().writeValueAsString(IssuerClient.proof(METHOD, METHOD.attest(null))))
        .isEqualTo("{}");
  }

  @Test
  void aNestedProofIsSentAsTheSameJsonBytesAsTheObjectTheMethodsBuiltBefore() throws Exception {
    // the iam proof as it was built with Jackson nodes
    ObjectNode headers = JsonNodeFactory.instance.objectNode();
    headers.put("Host", "sts.amazonaws.com");
    headers.put("X-Machine-Identity-Challenge", "AAAAAAAAAAAAAAAAAAAAAA");
    headers.put("Authorization", "AWS4-HMAC-SHA256 Credential=…");
    ObjectNode sts = JsonNodeFactory.instance.objectNode();
    sts.put("method", "POST");
    sts.put("url", "https://sts.amazonaws.com");
    sts.set("headers", headers);
    sts.put("body", "Action=GetCallerIdentity&Version=2011-06-15");
    ObjectNode before = JsonNodeFactory.instance.objectNode();
    before.set("sts_request", sts);

    Map<String, String> h = new LinkedHashMap<>();
    h.put("Host", "sts.amazonaws.com");
    h.put("X-Machine-Identity-Challenge", "AAAAAAAAAAAAAAAAAAAAAA");
    h.put("Authorization", "AWS4-HMAC-SHA256 Credential=…");
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("method", "POST");
    s.put("url", "https://sts.amazonaws.com");
    s.put("headers", h);
    s.put("body", "Action=GetCallerIdentity&Version=2011-06-15");
    JoinProof proof = JoinProof.builder().put("sts_request", s).build();

    assertThat(Protocol.writer().writeValueAsBytes(IssuerClient.proof(METHOD, proof)))
        .isEqualTo(Protocol.writer().writeValueAsBytes(before));
  }

  @Test
  void aProofIsADeepCopyThatCannotBeChanged() {
    Map<String, Object> inner = new LinkedHashMap<>();
    inner.put("a", "1");
    List<Object> list = new ArrayList<>(List.of("x"));
    JoinProof proof = JoinProof.of(Map.of("inner", inner, "list", list));
    inner.put("b", "2");
    list.add("y");
    assertThat(proof.fields().get("inner")).isEqualTo(Map.of("a", "1"));
    assertThat(proof.fields().get("list")).isEqualTo(List.of("x"));
    assertThatThrownBy(() -> proof.fields().put("c", "3"))
        .isInstanceOf(UnsupportedOperationException.class);
    @SuppressWarnings("unchecked")
    Map<String, Object> nested = (Map<String, Object>) proof.fields().get("inner");
    assertThatThrownBy(() -> nested.put("c", "3"))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void valuesAProofCannotCarryAreRefusedWithTheirPath() {
    assertThatThrownBy(() -> JoinProof.builder().put("sts_request", Map.of("when", new Object())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("proof.sts_request.when");
    Map<String, Object> withNull = new LinkedHashMap<>();
    withNull.put("id_token", null);
    assertThatThrownBy(() -> JoinProof.of(withNull))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("null");
  }

  @Test
  void printingAProofNamesItsFieldsButNeverItsValues() {
    JoinProof proof =
        JoinProof.builder().put("id_token", "eyJhbGciOiJSUzI1NiJ9.secret.sig").build();
    assertThat(proof.toString())
        .contains("id_token")
        .doesNotContain("eyJ")
        .doesNotContain("secret");
    assertThat(proof.string("id_token")).isEqualTo("eyJhbGciOiJSUzI1NiJ9.secret.sig");
  }

  @Test
  void aMethodThatReturnsNoProofFailsTheJoinWithAClearError() {
    assertThatThrownBy(() -> IssuerClient.proof(METHOD, null))
        .isInstanceOf(JoinException.class)
        .hasMessageContaining("JoinProof.empty()");
  }
}
