package dev.machineid.agent;

import dev.machineid.core.output.Destination;
import dev.machineid.core.output.DestinationProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code type: test_directory}: plain files in a directory, each replaced by an atomic rename. Stands
 * in for identity-outputs' {@code directory} destination so that these tests see real files; the
 * agent finds it through ServiceLoader exactly as it finds the real ones.
 */
final class TestDirectoryDestination implements Destination {
  private final Path dir;

  TestDirectoryDestination(Path dir) {
    this.dir = dir;
  }

  @Override
  public void write(Map<String, byte[]> files) {
    try {
      Files.createDirectories(dir);
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        Path tmp = dir.resolve("." + f.getKey() + ".tmp");
        Files.write(tmp, f.getValue());
        Files.move(tmp, dir.resolve(f.getKey()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write to " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Map<String, byte[]> read() {
    Map<String, byte[]> m = new TreeMap<>();
    if (!Files.isDirectory(dir)) {
      return m;
    }
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        if (!p.getFileName().toString().startsWith(".")) {
          m.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return m;
  }

  @Override
  public String toString() {
    return "test_directory:" + dir;
  }

  public static final class Provider implements DestinationProvider {
    @Override
    public String type() {
      return "test_directory";
    }

    @Override
    public Destination create(Map<String, Object> settings) {
      Object path = settings.get("path");
      if (path == null) {
        throw new IllegalArgumentException("destination.path: missing");
      }
      return new TestDirectoryDestination(Path.of(path.toString()));
    }
  }
}
