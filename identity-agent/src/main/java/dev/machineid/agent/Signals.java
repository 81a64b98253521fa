package dev.machineid.agent;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSIX signal handlers through {@code sun.misc.Signal} (module jdk.unsupported). Where that API is
 * missing, or the JVM reserves the signal ({@code -Xrs}, or a platform without it), installing
 * reports {@code false} and the agent runs without that handler.
 */
final class Signals {
  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  /** Runs {@code action} on the JVM's signal thread when {@code name} (e.g. {@code HUP}) arrives. */
  static boolean handle(String name, Runnable action) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal(name), s -> action.run());
      return true;
    } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException | LinkageError e) {
      LOG.warn("cannot handle SIG{} here ({}); the agent runs without that handler", name, e.toString());
      return false;
    }
  }
}
