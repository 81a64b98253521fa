package dev.machineid.core.internal.config;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.core.ConfigException;
import dev.machineid.core.KeyAlgorithm;
import dev.machineid.core.MachineIdentity;
import dev.machineid.core.RenewalPolicy;
import dev.machineid.core.config.ConfigFile;
import dev.machineid.core.config.Settings;
import dev.machineid.core.config.SettingsException;
import dev.machineid.core.internal.spi.Discovery;
import dev.machineid.core.join.JoinMethods;
import dev.machineid.core.output.Destination;
import dev.machineid.core.output.DestinationProvider;
import dev.machineid.core.output.OutputProvider;
import dev.machineid.core.protocol.GoDuration;
import dev.machineid.core.storage.Storage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * Reads the agent YAML (docs/architecture.md §10) into a {@link MachineIdentity.Builder}. Every error is one line
 * naming the file and the key.
 */
public final class ConfigReader {
  private static final Set<String> TOP = Set.of(
      "version",
      "issuer",
      "onboarding",
      "storage",
      "credential_ttl",
      "renewal_interval",
      "refusal_retry_delay",
      "key_algorithm",
      "outputs",
      "diag_addr",
      "oneshot");
  private static final Set<String> ONBOARDING_COMMON =
      Set.of("join_method", "token", "ca_pins", "ca_file", "insecure");
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
    JsonNode root = ConfigFile.readTree(file);
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (!TOP.contains(k)) {
        throw unknownKey(k, k, TOP);
      }
    }
    try {
      return parse(root);
    } catch (SettingsException e) {
      throw new ConfigException("config " + file + ": " + e.getMessage(), e);
    }
  }

  /** One line for a key nobody reads: its path, the nearest known key and the keys known there. */
  private ConfigException unknownKey(String path, String key, Set<String> known) {
    String near = Settings.nearest(key, known);
    return error(
        path,
        "unknown key" + (near != null ? "; did you mean '" + near + "'?" : "") + " (known: "
            + String.join(", ", new java.util.TreeSet<>(known)) + ")");
  }

  private MachineIdentity.Builder parse(JsonNode root) {
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
      String ttl = text(root, "credential_ttl", true);
      Duration d = duration("credential_ttl", ttl);
      // checked here too, so that the message echoes the file's own text rather than the builder's
      if (d.toSeconds() < 1 || d.compareTo(Duration.ofHours(24)) > 0) {
        throw error("credential_ttl", "must be between 1s and 24h, got " + ttl);
      }
      b.credentialTtl(d);
    }
    if (root.hasNonNull("renewal_interval") || root.hasNonNull("refusal_retry_delay")) {
      RenewalPolicy.Builder policy = RenewalPolicy.builder();
      if (root.hasNonNull("renewal_interval")) {
        String interval = text(root, "renewal_interval", true);
        try {
          policy.interval(duration("renewal_interval", interval));
        } catch (IllegalArgumentException e) {
          throw error("renewal_interval", e.getMessage() + " (got " + interval + ")");
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

  private Duration duration(String key, String text) {
    try {
      return GoDuration.parse(text);
    } catch (IllegalArgumentException e) {
      throw error(key, "expected a duration such as 90s, 20m or 1h30m, got '" + text + "'");
    }
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
        Set<String> known = new java.util.TreeSet<>(ONBOARDING_COMMON);
        if (!ONBOARDING_COMMON.contains(method)) {
          known.add(method);
        }
        throw unknownKey("onboarding." + k, k, known);
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
      settings.putAll(YAML.convertValue(block, new TypeReference<Map<String, Object>>() {}));
    }
    if (o.hasNonNull("token")) {
      settings.put("token", o.get("token").asText());
    }
    // made now, so that every error names its key's path in this file
    Settings view = Settings.of(
        block != null && !block.isNull() ? "onboarding." + method : "onboarding", settings);
    try {
      b.joinMethod(JoinMethods.create(method, view));
    } catch (SettingsException e) {
      throw e;
    } catch (ConfigException e) {
      throw error("onboarding.join_method", e.getMessage());
    }
  }

  @SuppressWarnings("unchecked")
  private void storage(JsonNode st, MachineIdentity.Builder b) {
    if (st == null || st.isNull()) {
      return;
    }
    if (!st.isObject()) {
      throw error(
          "storage", "expected a mapping such as {type: directory, path: /var/lib/machineid}");
    }
    Settings view = Settings.of("storage", YAML.convertValue(st, Map.class));
    String type = view.optionalString("type").orElse(null);
    if ("memory".equals(type)) {
      b.storage(Storage.memory());
    } else if ("directory".equals(type)) {
      b.storage(Storage.directory(Path.of(view.string("path"))));
    } else {
      throw error("storage.type", "expected 'memory' or 'directory', got '" + type + "'");
    }
    view.refuseUnknown();
  }

  @SuppressWarnings("unchecked")
  private void outputs(JsonNode outs, MachineIdentity.Builder b) {
    if (outs == null || outs.isNull()) {
      return;
    }
    if (!outs.isArray()) {
      throw error("outputs", "expected a list");
    }
    Discovery.Found<OutputProvider> outputsFound;
    Discovery.Found<DestinationProvider> destinationsFound;
    try {
      outputsFound = Discovery.discover(Discovery.Request.providers(
          "output provider",
          ServiceLoader.load(OutputProvider.class, OutputProvider.class.getClassLoader()),
          OutputProvider::type));
      destinationsFound = Discovery.discover(Discovery.Request.providers(
          "destination provider",
          ServiceLoader.load(DestinationProvider.class, DestinationProvider.class.getClassLoader()),
          DestinationProvider::type));
    } catch (Discovery.DuplicateProviderException e) {
      throw error("outputs", e.getMessage());
    }
    Map<String, OutputProvider> outputTypes = outputsFound.byName();
    Map<String, DestinationProvider> destTypes = destinationsFound.byName();
    for (int i = 0; i < outs.size(); i++) {
      String key = "outputs[" + i + "]";
      JsonNode o = outs.get(i);
      if (!o.isObject()) {
        throw error(key, "expected a mapping with type and destination");
      }
      Settings out = Settings.of(key, YAML.convertValue(o, Map.class));
      String type = out.optionalString("type").orElse(null);
      OutputProvider op = outputTypes.get(type);
      if (op == null) {
        String near = type == null ? null : Settings.nearest(type, outputTypes.keySet());
        throw error(
            key + ".type",
            (type == null ? "missing" : "unknown output type '" + type + "'")
                + (near != null ? "; did you mean '" + near + "'?" : "") + "; available: "
                + outputTypes.keySet()
                + " (more come with dev.machineid:identity-outputs)" + outputsFound.failureNote());
      }
      Settings d = out.block("destination");
      String dtype = d.optionalString("type").orElse(null);
      DestinationProvider dp = destTypes.get(dtype);
      if (dp == null) {
        String near = dtype == null ? null : Settings.nearest(dtype, destTypes.keySet());
        throw error(
            key + ".destination.type",
            (dtype == null ? "missing" : "unknown destination type '" + dtype + "'")
                + (near != null ? "; did you mean '" + near + "'?" : "") + "; available: "
                + destTypes.keySet()
                + " (directory and kubernetes_secret come with dev.machineid:identity-outputs)"
                + destinationsFound.failureNote());
      }
      Destination dest;
      try {
        dest = dp.create(d);
      } catch (SettingsException e) {
        throw e;
      } catch (IllegalArgumentException e) {
        throw error(d.path(), e.getMessage());
      }
      d.refuseUnknown();
      try {
        b.output(op.create(out, dest));
      } catch (SettingsException e) {
        throw e;
      } catch (IllegalArgumentException e) {
        throw error(key, e.getMessage());
      }
      out.refuseUnknown();
    }
  }
}
