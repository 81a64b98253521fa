package dev.machineid.issuer.internal.audit;

import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.IssuerStore;
import dev.machineid.issuer.internal.Text;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Writes audit events to the store with the issuer's clock: on their own, or with a {@code tx}
 * store view from {@link IssuerStore#inTransaction} so that the event commits with the change it
 * records.
 */
public final class Auditor {
  /** Who causes the changes made on this thread, recorded as {@code actor} in their events. */
  private static final ThreadLocal<String> ACTOR = new ThreadLocal<>();

  private final IssuerStore store;
  private final Clock clock;

  public Auditor(IssuerStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  /**
   * Runs {@code action} with every event it writes on this thread attributed to {@code actor}
   * (e.g. {@code admin:alice}); events written through the Java API outside such a scope carry no
   * actor, events of bots carry the bot and instance instead.
   */
  public static <T> T actingAs(String actor, java.util.concurrent.Callable<T> action)
      throws Exception {
    String outer = ACTOR.get();
    ACTOR.set(actor);
    try {
      return action.call();
    } finally {
      if (outer == null) {
        ACTOR.remove();
      } else {
        ACTOR.set(outer);
      }
    }
  }

  public void success(String type, String bot, String instanceId, Map<String, String> detail) {
    write(store, type, bot, instanceId, AuditEvent.SUCCESS, detail);
  }

  /**
   * Appends a failure event. A refusal of a caller that established no identity (no bot, no
   * instance, code {@code unauthenticated}) is sampled instead: the first of each type in a window
   * of {@link #SAMPLING_WINDOW} is written, with {@code sampled=true} and in
   * {@code suppressed_before} how many such refusals the previous window did not write; the rest
   * are only counted. Anyone can send such requests, so that a flood of them neither grows the log
   * by a row each nor queues every replica on the chain head.
   */
  public void failure(String type, String bot, String instanceId, Map<String, String> detail) {
    if (bot == null && instanceId == null && "unauthenticated".equals(detail.get("code"))) {
      sampled(type, detail);
      return;
    }
    write(store, type, bot, instanceId, AuditEvent.FAILURE, detail);
  }

  /** How long one sample of unauthenticated refusals stands for the refusals after it. */
  public static final Duration SAMPLING_WINDOW = Duration.ofMinutes(1);

  /** Per event type: the current sampling window. */
  private final ConcurrentHashMap<String, Window> windows = new ConcurrentHashMap<>();

  private static final class Window {
    final Instant start;
    long suppressed;

    Window(Instant start) {
      this.start = start;
    }
  }

  private void sampled(String type, Map<String, String> detail) {
    Instant now = clock.instant();
    long[] carried = {-1};
    windows.compute(type, (k, w) -> {
      if (w == null || !now.isBefore(w.start.plus(SAMPLING_WINDOW))) {
        carried[0] = w == null ? 0 : w.suppressed;
        return new Window(now);
      }
      w.suppressed++;
      return w;
    });
    if (carried[0] >= 0) {
      Map<String, String> d = new LinkedHashMap<>(detail);
      d.put("sampled", "true");
      d.put("suppressed_before", Long.toString(carried[0]));
      write(store, type, null, null, AuditEvent.FAILURE, d);
    }
  }

  /** Unauthenticated refusals of {@code type} counted but not written in the current window. */
  public long suppressed(String type) {
    Window w = windows.get(type);
    return w == null ? 0 : w.suppressed;
  }

  /** Appends a success event in the transaction of {@code tx}. */
  public void success(
      IssuerStore tx, String type, String bot, String instanceId, Map<String, String> detail) {
    write(tx, type, bot, instanceId, AuditEvent.SUCCESS, detail);
  }

  private void write(
      IssuerStore target,
      String type,
      String bot,
      String instanceId,
      String outcome,
      Map<String, String> detail) {
    Map<String, String> clean = new LinkedHashMap<>();
    String actor = ACTOR.get();
    if (actor != null) {
      clean.put("actor", actor);
    }
    detail.forEach((k, v) -> {
      if (k != null && v != null) {
        clean.put(Text.inert(k), Text.inert(v));
      }
    });
    target.appendAudit(new AuditEvent(
        UUID.randomUUID().toString(),
        clock.instant(),
        Text.inert(type),
        Text.inert(bot),
        Text.inert(instanceId),
        outcome,
        clean));
  }
}
