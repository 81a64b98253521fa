package dev.machineid.agent;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * POSIX signal handlers through {@code sun.misc.Signal} (module jdk.unsupported). Where that API is
 * missing, or the JVM reserves the signal ({@code -Xrs}, or a platform without it), installing
 * reports {@code false} and the agent runs without that handler.
 *
 * <p>A signal the parent left <em>ignored</em> ({@code nohup} ignores SIGHUP; so does
 * {@code trap '' HUP} in a shell) is silently kept ignored by the JVM, which then never runs the
 * handler. For such a signal the disposition is first reset to the default with {@code signal(2)}
 * (through JNA), so that the handler is installed; if that is impossible, installing reports
 * {@code false} and says so.
 */
final class Signals {
  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);
  private static final Map<String, Integer> NUMBERS = Map.of("HUP", 1, "INT", 2, "TERM", 15);
  private static final Path STATUS = Path.of("/proc/self/status");

  private Signals() {}

  /** The C library's {@code signal(2)}. */
  interface CLibrary extends Library {
    Pointer signal(int signal, Pointer handler);
  }

  /** Runs {@code action} on the JVM's signal thread when {@code name} (e.g. {@code HUP}) arrives. */
  static boolean handle(String name, Runnable action) {
    Integer number = NUMBERS.get(name);
    if (number != null && ignored(number)) {
      restoreDefault(name, number);
    }
    try {
      install(name, action);
    } catch (IllegalArgumentException
        | IllegalStateException
        | UnsupportedOperationException
        | LinkageError
        | ReflectiveOperationException e) {
      LOG.warn(
          "cannot handle SIG{} here ({}); the agent runs without that handler", name, e.toString());
      return false;
    }
    if (number != null && ignored(number)) {
      LOG.warn(
          "SIG{} is ignored by this process (inherited from its parent, e.g. nohup) and could not be restored: "
              + "the handler will not run",
          name);
      return false;
    }
    return true;
  }

  /**
   * {@code sun.misc.Signal.handle(new sun.misc.Signal(name), s -> action.run())}, called through
   * reflection: javac warns about every compile-time use of {@code sun.misc} as internal proprietary
   * API, a warning that no {@code -Xlint} option or {@code @SuppressWarnings} silences.
   */
  private static void install(String name, Runnable action) throws ReflectiveOperationException {
    Class<?> signalType = Class.forName("sun.misc.Signal");
    Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
    Object handler = Proxy.newProxyInstance(
        Signals.class.getClassLoader(), new Class<?>[] {handlerType}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "handle":
              action.run();
              return null;
            case "equals":
              return proxy == args[0];
            case "hashCode":
              return System.identityHashCode(proxy);
            default:
              return "SIG" + name + " handler";
          }
        });
    try {
      Object signal = signalType.getConstructor(String.class).newInstance(name);
      signalType.getMethod("handle", signalType, handlerType).invoke(null, signal, handler);
    } catch (InvocationTargetException e) {
      // what Signal's constructor or handle threw: an unknown or reserved signal
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      if (e.getCause() instanceof Error cause) {
        throw cause;
      }
      throw e;
    }
  }

  /** True if the process ignores the signal (Linux: the SigIgn mask of /proc/self/status); false where unknown. */
  static boolean ignored(int number) {
    try {
      for (String line : Files.readAllLines(STATUS, StandardCharsets.US_ASCII)) {
        if (line.startsWith("SigIgn:")) {
          return new BigInteger(line.substring(7).strip(), 16).testBit(number - 1);
        }
      }
    } catch (IOException | NumberFormatException | SecurityException e) {
      // not Linux: assume not ignored
    }
    return false;
  }

  private static void restoreDefault(String name, int number) {
    try {
      CLibrary c = Native.load("c", CLibrary.class);
      c.signal(number, Pointer.NULL); // SIG_DFL; the JVM's handler replaces it at once below
      LOG.info(
          "SIG{} was ignored by the parent process (nohup?); restored it so that the agent handles it",
          name);
    } catch (LinkageError | RuntimeException e) {
      LOG.warn(
          "SIG{} is ignored (inherited from the parent, e.g. nohup) and cannot be restored here ({})",
          name,
          e.toString());
    }
  }
}
