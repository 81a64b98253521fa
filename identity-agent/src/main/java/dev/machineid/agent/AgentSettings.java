package dev.machineid.agent;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.core.ConfigException;
import dev.machineid.core.config.ConfigFile;
import dev.machineid.core.config.Settings;
import dev.machineid.core.config.SettingsException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The keys of the agent YAML that only the agent acts on ({@code diag_addr}, {@code oneshot}) and the
 * directories {@code init} prepares. Everything else is read, and validated, by
 * {@link dev.machineid.core.MachineIdentity#builderFromConfig}.
 *
 * @param file the config file
 * @param diagAddr {@code diag_addr}, or {@code null}
 * @param oneShot {@code oneshot}
 * @param storageDirectory the path of {@code storage: {type: directory}}, or {@code null}
 * @param outputDirectories the paths of the {@code directory} destinations, in order
 */
record AgentSettings(
    Path file,
    InetSocketAddress diagAddr,
    boolean oneShot,
    Path storageDirectory,
    List<Path> outputDirectories) {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final TypeReference<Map<String, Object>> MAP = new TypeReference<>() {};

  AgentSettings {
    Objects.requireNonNull(file, "file");
    outputDirectories = List.copyOf(outputDirectories);
  }

  static AgentSettings read(Path file) {
    JsonNode root = ConfigFile.readTree(file);
    InetSocketAddress diag = null;
    if (root.hasNonNull("diag_addr")) {
      diag = parseAddress(root.get("diag_addr").asText(), "config " + file + ": diag_addr");
    }
    boolean oneShot = false;
    if (root.hasNonNull("oneshot")) {
      if (!root.get("oneshot").isBoolean()) {
        throw new ConfigException("config " + file + ": oneshot: expected true or false, got '"
            + root.get("oneshot").asText() + "'");
      }
      oneShot = root.get("oneshot").asBoolean();
    }
    Path storage = null;
    List<Path> dirs = new ArrayList<>();
    try {
      Settings view = Settings.of(YAML.convertValue(root, MAP));
      Settings st = view.optionalBlock("storage").orElse(null);
      if (st != null && "directory".equals(st.optionalString("type").orElse(null))) {
        storage = Path.of(st.string("path"));
      }
      if (view.raw("outputs") instanceof List) {
        for (Settings out : view.blocks("outputs")) {
          Settings d = out.block("destination");
          if ("directory".equals(d.optionalString("type").orElse(null))) {
            dirs.add(Path.of(d.string("path")));
          }
        }
      }
    } catch (SettingsException e) {
      // the same words the SDK's reader uses, so that a typo is named the same way here
      throw new ConfigException("config " + file + ": " + e.getMessage(), e);
    }
    return new AgentSettings(file, diag, oneShot, storage, dirs);
  }

  /** Parses {@code host:port} (or {@code [v6]:port}); {@code what} names the setting in the error. */
  static InetSocketAddress parseAddress(String text, String what) {
    String t = text.trim();
    int colon = t.lastIndexOf(':');
    if (colon <= 0 || colon == t.length() - 1) {
      throw new ConfigException(
          what + ": expected host:port, e.g. 127.0.0.1:9464, got '" + text + "'");
    }
    String host = t.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(t.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new ConfigException(
          what + ": port '" + t.substring(colon + 1) + "' is not a number", e);
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException(what + ": port " + port + " is out of range 0-65535");
    }
    return new InetSocketAddress(host, port);
  }
}
