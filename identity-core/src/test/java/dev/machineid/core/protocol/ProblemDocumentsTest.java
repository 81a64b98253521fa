package dev.machineid.core.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ProblemDocumentsTest {
  @Test
  void aProblemDocumentIsReadWithItsCodeDetailAndStatus() {
    Problem p = ProblemDocuments.parse(
            "{\"type\":\"t\",\"title\":\"Not found\",\"status\":404,\"detail\":\"no bot 'web'\",\"code\":\"not_found\",\"extra\":1}")
        .orElseThrow();
    assertThat(p).isEqualTo(new Problem("t", "Not found", 404, "no bot 'web'", "not_found"));
    assertThat(ProblemDocuments.explanation(p)).isEqualTo("no bot 'web'");
  }

  @Test
  void aProxysErrorPageIsNoProblemDocument() {
    assertThat(ProblemDocuments.parse("<html>502 Bad Gateway</html>")).isEmpty();
    assertThat(ProblemDocuments.parse("[1,2]")).isEmpty();
    assertThat(ProblemDocuments.parse("")).isEmpty();
    assertThat(ProblemDocuments.parse((byte[]) null)).isEmpty();
  }

  @Test
  void membersOfTheWrongTypeAreLeftOutAndTheTitleExplainsWithoutADetail() {
    Problem p = ProblemDocuments.parse(
            "{\"title\":\"Bad gateway\",\"status\":\"502\",\"detail\":{\"a\":1},\"code\":7}")
        .orElseThrow();
    assertThat(p.code()).isNull();
    assertThat(p.detail()).isNull();
    assertThat(p.status()).isZero();
    assertThat(ProblemDocuments.explanation(p)).isEqualTo("Bad gateway");
  }

  @Test
  void controlCharactersCannotForgeLogLinesAndAHugeDetailIsCut() {
    Problem p = ProblemDocuments.parse(
            "{\"code\":\"x\\u001b[2K\",\"detail\":\"refused\\n2026-12-05 INFO renewed \\u001b[31mok\\u202e\"}")
        .orElseThrow();
    assertThat(p.code()).isEqualTo("x?[2K");
    assertThat(ProblemDocuments.explanation(p))
        .isEqualTo("refused?2026-12-05 INFO renewed ?[31mok?");

    // U+2028 and U+2029 end a line for some log readers
    Problem separators = ProblemDocuments.parse(
            "{\"detail\":\"refused\\u20282026-12-05 INFO renewed\\u2029ok\"}")
        .orElseThrow();
    assertThat(ProblemDocuments.explanation(separators))
        .isEqualTo("refused?2026-12-05 INFO renewed?ok");

    String huge = "a".repeat(900_000);
    Problem big = ProblemDocuments.parse("{\"detail\":\"" + huge + "\"}").orElseThrow();
    assertThat(ProblemDocuments.explanation(big))
        .hasSize(ProblemDocuments.MAX_TEXT + 1)
        .endsWith("a\u2026");
  }
}
