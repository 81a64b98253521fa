package dev.machineid.issuer;

import java.time.Instant;

/**
 * Which audit events to list ({@link IssuerStore#auditEvents(AuditQuery)}): the newest
 * {@code limit} events on the chain that match every given filter, returned oldest first. The
 * store applies the filters and the limit in the database, so a listing reads at most
 * {@code limit} rows whatever the size of the log.
 *
 * @param since only events at or after this time, or {@code null}
 * @param type only events of this type, or of a type starting with {@code type + "."} (so
 *     {@code lock} matches {@code lock.created}), or {@code null}
 * @param bot only events about this bot, or {@code null}
 * @param limit at most this many events, 1 to {@link #MAX_LIMIT}
 */
public record AuditQuery(Instant since, String type, String bot, int limit) {
  public static final int MAX_LIMIT = 100_000;

  public AuditQuery {
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new IllegalArgumentException("limit must be 1 to " + MAX_LIMIT + ", got " + limit);
    }
  }

  /** The newest {@code limit} events of any kind. */
  public static AuditQuery latest(int limit) {
    return new AuditQuery(null, null, null, limit);
  }
}
