package dev.machineid.outputs.destination;

import dev.machineid.core.IdentityException;
import java.nio.file.Path;

/**
 * A destination directory the SDK refuses to write keys into: it is a symbolic link (which another
 * user could point elsewhere), world-writable, or not a directory. The message says what to change.
 */
public final class UnsafeDestinationException extends IdentityException {
  private static final long serialVersionUID = 1L;
  private final transient Path path;

  public UnsafeDestinationException(Path path, String message) {
    super("destination " + path + ": " + message);
    this.path = path;
  }

  /** The refused path. */
  public Path path() {
    return path;
  }
}
