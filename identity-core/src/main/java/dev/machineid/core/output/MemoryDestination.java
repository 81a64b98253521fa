package dev.machineid.core.output;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

/** Keeps an output's files in memory; a reader sees one whole write or the next, never a mix. */
public final class MemoryDestination implements Destination {
  private final AtomicReference<Map<String, byte[]>> files = new AtomicReference<>(Map.of());

  /** An empty destination: no files until the first write. */
  public MemoryDestination() {}

  @Override
  public void write(Map<String, byte[]> files) {
    Map<String, byte[]> copy = new TreeMap<>();
    files.forEach((k, v) -> copy.put(k, v.clone()));
    this.files.set(java.util.Collections.unmodifiableMap(copy));
  }

  @Override
  public Map<String, byte[]> read() {
    return files.get();
  }

  @Override
  public String toString() {
    return "memory" + files.get().keySet();
  }
}
