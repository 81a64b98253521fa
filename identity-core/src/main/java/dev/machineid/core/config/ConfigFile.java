package dev.machineid.core.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.machineid.core.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Reads a YAML configuration file into a mapping. A duplicate key is an error, and a syntax error
 * carries its line and column: {@code config /etc/agent.yaml: line 4, column 3: duplicate key 'token'}.
 */
public final class ConfigFile {
  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private ConfigFile() {}

  /**
   * The file's top-level mapping as a tree.
   *
   * @throws ConfigException naming the file (and line and column for a syntax error or duplicate key)
   */
  public static JsonNode readTree(Path file) {
    Objects.requireNonNull(file, "file");
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException("config " + file + ": cannot read: " + e, e);
    }
    JsonNode root;
    try {
      root = YAML.readTree(text);
    } catch (JsonProcessingException e) {
      JsonLocation at = e.getLocation();
      String problem = String.valueOf(e.getOriginalMessage())
          .lines()
          .map(String::strip)
          .filter(l -> !l.isEmpty())
          .findFirst()
          .orElse("not valid YAML");
      if (problem.startsWith("Duplicate field ")) {
        problem = "duplicate key " + problem.substring("Duplicate field ".length())
            + "; a key may appear once in a mapping";
      }
      throw new ConfigException(
          "config " + file + ": "
              + (at != null && at.getLineNr() > 0
                  ? "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": "
                  : "")
              + problem,
          e);
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException("config " + file + ": expected a YAML mapping at the top level");
    }
    return root;
  }

  /** The file's top-level mapping as a {@link Settings} view. */
  @SuppressWarnings("unchecked")
  public static Settings read(Path file) {
    return Settings.of(YAML.convertValue(readTree(file), Map.class));
  }
}
