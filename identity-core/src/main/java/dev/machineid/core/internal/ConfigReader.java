package dev.machineid.core.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.core.ConfigException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.output.Destination;
import dev.machineid.core.output.DestinationProvider;
import dev.machineid.core.output.OutputProvider;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.storage.Storage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads the agent YAML (docs/architecture.md §10) into a {@link MachineIdentity.Builder}. Every error is one line
 * naming the file and the key.
 */
public final class ConfigReader {
  private static final Set<String> TOP = Set.of("version", "issuer", "onboarding", "storage", "credential_ttl",
      "renewal_interval", "refusal_retry_delay", "key_algorithm", "outputs", "diag_addr", "oneshot");
  private static final Set<String> ONBOARDING_COMMON = Set.of("join_method", "token", "ca_pins", "ca_file", "insecure");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  private final Path file;

  private ConfigReader(Path file) {
    this.file = file;
  }

  public static MachineIdentity.Builder read(Path file) {
    return new ConfigReader(file).parse();
  }

  private ConfigException error(String key, String message) {
    return new ConfigException("config " + file + ": " + key + ": " + message);
  }

  private MachineIdentity.Builder parse() {
    JsonNode root;
    try {
      root = YAML.readTree(Files.readString(file));
    } catch (IOException e) {
      throw new ConfigException("config " + file + ": cannot read: " + e.getMessage().lines().findFirst().orElse(""), e);
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException("config " + file + ": expected a YAML mapping at the top level");
    }
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!TOP.contains(k)) {
        throw error(k, "unknown key; known keys: " + new java.util.TreeSet<>(TOP));
      }
    }
    String version = text(root, "version", false);
    if (version != null && !version.equals("v1")) {
      throw error("version", "unsupported version '" + version + "'; this SDK reads v1");
    }
    MachineIdentity.Builder b = MachineIdentity.builder();
    String issuer = text(root, "issuer", true);
    try {
      b.issuer(issuer);
    } catch (IllegalArgumentException e) {
      throw error("issuer", e.getMessage());
    }
    onboarding(root.get("onboarding"), b);
    storage(root.get("storage"), b);
    if (root.hasNonNull("credential_ttl")) {
      try {
        b.credentialTtl(GoDuration.parse(text(root, "credential_ttl", true)));
      } catch (IllegalArgumentException e) {
        throw error("credential_ttl", e.getMessage());
      }
    }
    if (root.hasNonNull("renewal_interval") || root.hasNonNull("refusal_retry_delay")) {
      RenewalPolicy.Builder policy = RenewalPolicy.builder();
      if (root.hasNonNull("renewal_interval")) {
        try {
          policy.interval(GoDuration.parse(text(root, "renewal_interval", true)));
        } catch (IllegalArgumentException e) {
          throw error("renewal_interval", e.getMessage());
        }
      }
      if (root.hasNonNull("refusal_retry_delay")) {
        try {
          policy.refusalRetryDelay(GoDuration.parse(text(root, "refusal_retry_delay", true)));
        } catch (IllegalArgumentException e) {
          throw error("refusal_retry_delay", e.getMessage());
        }
      }
      b.renewalPolicy(policy.build());
    }
    if (root.hasNonNull("key_algorithm")) {
      try {
        b.keyAlgorithm(KeyAlgorithm.parse(text(root, "key_algorithm", true)));
      } catch (IllegalArgumentException e) {
        throw error("key_algorithm", e.getMessage());
      }
    }
    outputs(root.get("outputs"), b);
    if (root.hasNonNull("oneshot")) {
      JsonNode one = root.get("oneshot");
      if (!one.isBoolean()) {
        throw error("oneshot", "expected true or false, got '" + one.asText() + "'");
      }
      b.oneShot(one.asBoolean());
    }
    return b;
  }

  private String text(JsonNode parent, String key, boolean required) {
    JsonNode n = parent.get(key);
    if (n == null || n.isNull()) {
      if (required) {
        throw error(key, "missing");
      }
      return null;
    }
    if (!n.isValueNode()) {
      throw error(key, "expected a single value");
    }
    return n.asText();
  }

  private void onboarding(JsonNode o, MachineIdentity.Builder b) {
    if (o == null || !o.isObject()) {
      throw error("onboarding", "missing; it needs join_method and ca_pins (or ca_file)");
    }
    String method = o.hasNonNull("join_method") ? o.get("join_method").asText() : null;
    if (method == null) {
      throw error("onboarding.join_method", "missing");
    }
    for (Iterator<String> it = o.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!ONBOARDING_COMMON.contains(k) && !k.equals(method)) {
        throw error("onboarding." + k, "unknown key (the method block must be named after join_method '" + method + "')");
      }
    }
    JsonNode pins = o.get("ca_pins");
    if (pins != null && !pins.isNull()) {
      if (!pins.isArray()) {
        throw error("onboarding.ca_pins", "expected a list of 'sha256:…' pins");
      }
      for (int i = 0; i < pins.size(); i++) {
        try {
          b.caPins(pins.get(i).asText());
        } catch (IllegalArgumentException e) {
          throw error("onboarding.ca_pins[" + i + "]", e.getMessage());
        }
      }
    }
    if (o.hasNonNull("ca_file")) {
      try {
        b.caFile(Path.of(o.get("ca_file").asText()));
      } catch (IllegalArgumentException e) {
        throw error("onboarding.ca_file", e.getMessage());
      }
    }
    if (o.hasNonNull("insecure")) {
      b.insecure(o.get("insecure").asBoolean());
    }
    Map<String, Object> settings = new LinkedHashMap<>();
    JsonNode block = ONBOARDING_COMMON.contains(method) ? null : o.get(method);
    if (block != null && !block.isNull()) {
      if (!block.isObject()) {
        throw error("onboarding." + method, "expected a mapping of the method's settings");
      }
      settings.putAll(YAML.convertValue(block, Map.class));
    }
    if (o.hasNonNull("token")) {
      settings.put("token", o.get("token").asText());
    }
    try {
      b.joinMethod(method, settings);
    } catch (IllegalArgumentException e) {
      throw error("onboarding", e.getMessage());
    }
  }

  private void storage(JsonNode st, MachineIdentity.Builder b) {
    if (st == null || st.isNull()) {
      return;
    }
    String type = st.hasNonNull("type") ? st.get("type").asText() : null;
    if ("memory".equals(type)) {
      b.storage(Storage.memory());
    } else if ("directory".equals(type)) {
      if (!st.hasNonNull("path")) {
        throw error("storage.path", "missing for storage type 'directory'");
      }
      b.storage(Storage.directory(Path.of(st.get("path").asText())));
    } else {
      throw error("storage.type", "expected 'memory' or 'directory', got '" + type + "'");
    }
  }

  @SuppressWarnings("unchecked")
  private void outputs(JsonNode outs, MachineIdentity.Builder b) {
    if (outs == null || outs.isNull()) {
      return;
    }
    if (!outs.isArray()) {
      throw error("outputs", "expected a list");
    }
    Map<String, OutputProvider> outputTypes = Providers.load(OutputProvider.class, OutputProvider::type);
    Map<String, DestinationProvider> destTypes = Providers.load(DestinationProvider.class, DestinationProvider::type);
    for (int i = 0; i < outs.size(); i++) {
      String key = "outputs[" + i + "]";
      JsonNode o = outs.get(i);
      String type = o.hasNonNull("type") ? o.get("type").asText() : null;
      OutputProvider op = outputTypes.get(type);
      if (op == null) {
        throw error(key + ".type", "unknown output type '" + type + "'; available: " + outputTypes.keySet()
            + " (more come with dev.machineid:identity-outputs)");
      }
      JsonNode d = o.get("destination");
      String dtype = d != null && d.hasNonNull("type") ? d.get("type").asText() : null;
      DestinationProvider dp = destTypes.get(dtype);
      if (dp == null) {
        throw error(key + ".destination.type", "unknown destination type '" + dtype + "'; available: " + destTypes.keySet()
            + " (directory and kubernetes_secret come with dev.machineid:identity-outputs)");
      }
      try {
        Destination dest = dp.create(YAML.convertValue(d, Map.class));
        b.output(op.create(YAML.convertValue(o, Map.class), dest));
      } catch (IllegalArgumentException e) {
        throw error(key, e.getMessage());
      }
    }
  }
}
