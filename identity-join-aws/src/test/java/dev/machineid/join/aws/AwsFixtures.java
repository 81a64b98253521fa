package dev.machineid.join.aws;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.ErrorCode;
import dev.machineid.core.IssuerException;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.join.JoinContext;
import dev.machineid.core.join.JoinMethod;
import dev.machineid.core.join.JoinProof;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.Issuer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** Shared helpers: an SDK builder for a join method, a proof-mutating wrapper, rejection checks. */
final class AwsFixtures {
  private AwsFixtures() {}

  static MachineIdentity.Builder sdk(Issuer issuer, JoinMethod method) {
    return MachineIdentity.builder()
        .issuer(issuer.url())
        .caPin(issuer.caPin())
        .joinMethod(method)
        .credentialTtl(Duration.ofMinutes(10))
        .startTimeout(Duration.ofSeconds(20));
  }

  /** A join method that changes the real method's proof before it is sent: how an attacker would. */
  private static final ObjectMapper JSON = new ObjectMapper();

  static JoinMethod mutating(JoinMethod real, BiConsumer<ObjectNode, JoinContext> change) {
    return new JoinMethod() {
      @Override
      public String name() {
        return real.name();
      }

      @Override
      public String token() {
        return real.token();
      }

      @Override
      public boolean renewable() {
        return real.renewable();
      }

      @Override
      public JoinProof attest(JoinContext context) {
        ObjectNode proof = JSON.valueToTree(real.attest(context).fields());
        change.accept(proof, context);
        return JoinProof.of(JSON.convertValue(proof, new TypeReference<Map<String, Object>>() {}));
      }
    };
  }

  /** Joins and expects {@code proof_rejected} as the only thing the client learns; returns the audit reason. */
  static String expectRejected(Issuer issuer, JoinMethod method) {
    int before = issuer.audit().events().size();
    try (MachineIdentity id = sdk(issuer, method).build()) {
      Throwable t = catchThrowable(id::start);
      assertThat(t).isNotNull();
      IssuerException ie = findIssuerException(t);
      assertThat(ie.errorCode()).isEqualTo(ErrorCode.PROOF_REJECTED);
      assertThat(ie.getMessage()).doesNotContain("rule=");
    }
    List<AuditEvent> events = issuer.audit().events();
    AuditEvent failure = events.subList(before, events.size()).stream()
        .filter(e -> e.type().equals("join") && e.failed())
        .reduce((a, b) -> b)
        .orElseThrow(() -> new AssertionError("no failed join audited"));
    assertThat(failure.detail()).containsEntry("code", "proof_rejected");
    return failure.detail().get("reason");
  }

  static IssuerException findIssuerException(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof IssuerException ie) {
        return ie;
      }
    }
    throw new AssertionError("no IssuerException in " + t, t);
  }
}
