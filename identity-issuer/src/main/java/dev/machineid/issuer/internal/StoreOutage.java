package dev.machineid.issuer.internal;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Locale;

/**
 * Tells a store outage (no pooled connection within the pool wait, a lost or refused database
 * connection, a server shutting down) from other failures, so the issuer answers it with a prompt
 * {@code 503 unavailable} and {@code Retry-After} instead of a {@code 500}.
 */
public final class StoreOutage {
  /** What {@code Retry-After} says while the store is unavailable. */
  public static final long RETRY_AFTER_SECONDS = 5;

  private StoreOutage() {}

  /** True if {@code t} or one of its causes says the database cannot be reached or has no connection to spare. */
  public static boolean is(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SQLTransientConnectionException) {
        return true; // HikariCP: no connection within the pool wait
      }
      if (c instanceof SQLException e && e.getSQLState() != null) {
        String state = e.getSQLState().toUpperCase(Locale.ROOT);
        // 08: connection exception; 57P01-57P03: the server is shutting down or cannot accept
        // connections yet
        if (state.startsWith("08") || state.startsWith("57P")) {
          return true;
        }
      }
    }
    return false;
  }

  /** The root cause's class and first line, for the log (no SQL, no secrets). */
  public static String describe(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String m =
        root.getMessage() == null ? "" : root.getMessage().lines().findFirst().orElse("");
    return root.getClass().getSimpleName() + (m.isEmpty() ? "" : ": " + m);
  }
}
