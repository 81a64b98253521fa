package dev.machineid.issuer.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.machineid.core.protocol.Protocol;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

class CliOutputTest {
  @Test
  void cliOutputEscapesControlCharacters() {
    ArrayNode rows = Protocol.nodes().arrayNode();
    ObjectNode row = rows.addObject();
    row.put("time", "2030-01-01T00:00:00Z").put("type", "heartbeat").put("bot", "web\u001b[2J");
    row.putObject("detail")
        .put("reason", "field 'outputs.x\r\n2030-01-01 WARN forged' \u0007\u009b31m \u202eevil");
    StringWriter text = new StringWriter();
    PrintWriter out = new PrintWriter(text);
    IssuerCli.printTable(
        out,
        rows,
        List.of("TIME", "TYPE", "BOT", "DETAIL"),
        (JsonNode n) -> IssuerCli.text(n, "time"),
        n -> IssuerCli.text(n, "type"),
        n -> IssuerCli.text(n, "bot"),
        n -> IssuerCli.text(n, "detail"));
    out.flush();
    String printed = text.toString();
    // a header and one row: the forged line break did not get through
    assertThat(printed.lines()).hasSize(2);
    assertThat(printed.replace(System.lineSeparator(), "").chars())
        .noneMatch(c -> c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x202e);
    assertThat(printed)
        .contains(
            "web\\x1b[2J", "x\\x0d\\x0a2030-01-01 WARN forged", "\\x07\\x9b31m", "\\u{202e}evil");
    assertThat(AdminCommands.inert("host\nname")).isEqualTo("host\\x0aname");
  }
}
