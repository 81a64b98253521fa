package dev.machineid.issuer.internal.resources;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.issuer.Role;
import dev.machineid.issuer.internal.join.TokenRules;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every example in docs/resources.md parses as the issuer reads role and token resources. */
class ResourcesDocTest {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private static List<ObjectNode> examples() throws Exception {
    Path doc = Path.of("..", "docs", "resources.md");
    assertThat(doc).exists();
    Matcher m =
        Pattern.compile("```yaml\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(doc));
    List<ObjectNode> out = new ArrayList<>();
    while (m.find()) {
      JsonNode n = YAML.readTree(m.group(1));
      assertThat(n).as(m.group(1)).isInstanceOf(ObjectNode.class);
      out.add((ObjectNode) n);
    }
    return out;
  }

  @Test
  void everyRoleAndTokenExampleInTheDocsParses() throws Exception {
    List<ObjectNode> all = examples();
    int roles = 0;
    List<String> methods = new ArrayList<>();
    for (ObjectNode r : all) {
      switch (r.get("kind").asText()) {
        case "role" -> {
          Role role = Resources.role(r);
          assertThat(role.name()).isNotBlank();
          roles++;
        }
        case "token" -> {
          Resources.TokenSpec t =
              Resources.token(r, Instant.parse("2026-01-01T00:00:00Z"), Duration.ofHours(1));
          TokenRules.validate(t.joinMethod(), t.rules());
          methods.add(t.joinMethod());
        }
        default -> throw new AssertionError("unexpected kind in " + r);
      }
    }
    assertThat(roles).isGreaterThanOrEqualTo(2);
    assertThat(methods).contains("token", "iam", "ec2");
    Role deployer = Resources.role(all.get(0));
    assertThat(deployer.maxTtl()).isEqualTo(Duration.ofMinutes(30));
    assertThat(deployer.logins()).containsExactly("{{internal.logins}}", "deploy");
  }
}
