package dev.machineid.agent;

import dev.machineid.testkit.issuer.TestBot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes agent YAML files (docs/architecture.md §10 shape) for a test bot. */
final class AgentConfig {
  private final TestBot bot;
  private String ttl = "1h";
  private String interval;
  private Path storage;
  private final List<String> outputs = new ArrayList<>();
  private final List<String> extra = new ArrayList<>();

  private AgentConfig(TestBot bot) {
    this.bot = bot;
  }

  static AgentConfig forBot(TestBot bot) {
    return new AgentConfig(bot);
  }

  AgentConfig ttl(String ttl) {
    this.ttl = ttl;
    return this;
  }

  AgentConfig renewalInterval(String interval) {
    this.interval = interval;
    return this;
  }

  AgentConfig storage(Path dir) {
    this.storage = dir;
    return this;
  }

  /** An {@code identity} output into a {@code directory} destination (identity-outputs). */
  AgentConfig identityTo(Path dir) {
    outputs.add("  - type: identity\n    destination: {type: directory, path: \"" + dir + "\"}\n");
    return this;
  }

  /** An {@code identity} output into a {@code directory} destination with a {@code reload} hook. */
  AgentConfig identityTo(Path dir, String reload) {
    outputs.add("  - type: identity\n    reload: '" + reload.replace("'", "''")
        + "'\n    destination: {type: directory, path: \"" + dir + "\"}\n");
    return this;
  }

  AgentConfig identityToMemory() {
    outputs.add("  - type: identity\n    destination: {type: memory}\n");
    return this;
  }

  AgentConfig line(String yaml) {
    extra.add(yaml);
    return this;
  }

  String yaml() {
    StringBuilder b = new StringBuilder();
    b.append("version: v1\n");
    b.append("issuer: ").append(bot.issuer()).append('\n');
    b.append("onboarding:\n  join_method: token\n  token: ").append(bot.token()).append('\n');
    b.append("  ca_pins: [\"").append(bot.caPin()).append("\"]\n");
    if (storage != null) {
      b.append("storage: {type: directory, path: \"").append(storage).append("\"}\n");
    }
    b.append("credential_ttl: ").append(ttl).append('\n');
    if (interval != null) {
      b.append("renewal_interval: ").append(interval).append('\n');
    }
    for (String e : extra) {
      b.append(e).append('\n');
    }
    if (!outputs.isEmpty()) {
      b.append("outputs:\n");
      outputs.forEach(b::append);
    }
    return b.toString();
  }

  Path writeTo(Path file) throws IOException {
    Files.writeString(file, yaml());
    return file;
  }
}
