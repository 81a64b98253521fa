package dev.machineid.issuer.store;

import static dev.machineid.issuer.store.Jdbc.bind;
import static dev.machineid.issuer.store.Jdbc.instant;
import static dev.machineid.issuer.store.Jdbc.update;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.machineid.core.protocol.Protocol;
import dev.machineid.issuer.AuditEvent;
import dev.machineid.issuer.AuditQuery;
import dev.machineid.issuer.AuditRetentionRefusedException;
import dev.machineid.issuer.AuditVerification;
import dev.machineid.issuer.StoreException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit log of the JDBC store: a hash chain split into shards (schema version 6).
 *
 * <p>Each shard {@code 0 … n-1} is a hash chain of its own: rows {@code (shard, seq)} with gapless
 * sequence numbers, {@code prev_hash} the hash of the shard's previous row, and a head row in
 * {@code audit_heads} that each append locks until its transaction commits. A transaction appends
 * to one shard, picked at random among the configured {@code shards} at its first append, so
 * concurrent audited writes queue on {@code n} heads instead of one. Shard 0 is the chain written
 * before shards existed, hashed exactly as before.
 *
 * <p>Shard {@code -1} is the chain of <em>checkpoints</em>: rows of type {@code audit.checkpoint}
 * whose detail records every shard's head ({@code shard.K = SEQ:HASH}). They tie the shards
 * together: a shard rewritten, truncated or rewound below a checkpoint no longer matches it, and a
 * checkpoint deleted leaves a gap in their own chain. A partitioned store writes one after an
 * audited commit at most once a second, and one before each verification; the verification's head
 * is then the newest checkpoint, which is what a pin names.
 *
 * <p>Retention moves each shard's anchor ({@code audit_anchors}) past the rows it removes, and
 * records every anchor in an {@code audit.pruned} event appended in the same transaction; an anchor
 * past genesis that the newest such event does not list was moved by hand (to hide a deleted
 * prefix), and verification reports it.
 *
 * <p>With one shard (and no other shard or checkpoint in the database) nothing of this shows: the
 * chain, its head, its pins and its verification are those of the single chain of version 3.
 */
final class JdbcAudit {
  private static final Logger LOG = LoggerFactory.getLogger(JdbcAudit.class);
  static final String GENESIS = "0".repeat(64);
  /** The shard that holds the checkpoints. */
  static final int CHECKPOINTS = -1;

  static final String CHECKPOINT_TYPE = "audit.checkpoint";
  /** The event a prune appends: every anchor after it ({@code anchor.K = SEQ:HASH}) and {@code before}. */
  static final String PRUNED_TYPE = "audit.pruned";

  private static final long CHECKPOINT_INTERVAL_NANOS = 1_000_000_000L;
  private static final TypeReference<Map<String, String>> STRING_MAP = new TypeReference<>() {};
  private static final String COLUMNS =
      "shard, seq, id, event_time, type, bot, instance_id, outcome, detail, prev_hash, hash";
  /** Rows between their shard's anchor and head, without checkpoints: what listings show. */
  private static final String ON_CHAIN =
      "e.shard >= 0 AND e.seq <= (SELECT h.seq FROM audit_heads h WHERE h.shard = e.shard)"
          + " AND e.seq > COALESCE((SELECT a.seq FROM audit_anchors a WHERE a.shard = e.shard), 0)";

  private final int shards;
  private final ObjectMapper json = Protocol.newMapper();
  /** Per shard, the newest head this store committed or verified: a head behind it was rewound. */
  private final Map<Integer, Long> witness = new ConcurrentHashMap<>();

  private final AtomicLong nextCheckpoint = new AtomicLong(System.nanoTime());

  /** A position on a shard's chain. */
  record Mark(int shard, long seq, String hash) {}

  JdbcAudit(int shards) {
    if (shards < 1 || shards > 1024) {
      throw new IllegalArgumentException("auditShards must be 1 to 1024, got " + shards);
    }
    this.shards = shards;
  }

  int shards() {
    return shards;
  }

  /** The shard a transaction's first append goes to. */
  int pickShard() {
    return shards == 1 ? 0 : ThreadLocalRandom.current().nextInt(shards);
  }

  // ---------------------------------------------------------------- appending

  /**
   * Appends {@code event} to {@code shard}, locking its head until the caller's transaction ends;
   * call it as the transaction's last statements.
   */
  Mark append(Connection c, int shard, AuditEvent event) throws SQLException {
    AuditEvent e = new AuditEvent(
        event.id(),
        event.time().truncatedTo(ChronoUnit.MICROS),
        event.type(),
        event.bot(),
        event.instanceId(),
        event.outcome(),
        event.detail());
    Mark head = lockHead(c, shard);
    long seq = head.seq() + 1;
    String hash = chainHash(head.hash(), shard, seq, e);
    update(
        c,
        "INSERT INTO audit_events (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        shard,
        seq,
        e.id(),
        e.time(),
        e.type(),
        e.bot(),
        e.instanceId(),
        e.outcome(),
        write(new TreeMap<>(e.detail())),
        head.hash(),
        hash);
    if (update(c, "UPDATE audit_heads SET seq = ?, hash = ? WHERE shard = ?", seq, hash, shard)
        != 1) {
      throw new SQLException("the audit chain head of shard " + shard + " did not move");
    }
    return new Mark(shard, seq, hash);
  }

  /** Locks a shard's head row until the transaction ends, creating it for a shard new to the database. */
  private static Mark lockHead(Connection c, int shard) throws SQLException {
    Mark head = head(c, shard, true);
    if (head == null) {
      if (shard == 0) {
        throw new SQLException(
            "the audit chain head row is missing; the schema was not migrated or was damaged");
      }
      update(
          c,
          "INSERT INTO audit_heads (shard, seq, hash) VALUES (?, 0, ?) ON CONFLICT DO NOTHING",
          shard,
          GENESIS);
      head = head(c, shard, true);
      if (head == null) {
        throw new SQLException("cannot create the audit chain head of shard " + shard);
      }
    }
    return head;
  }

  private static Mark head(Connection c, int shard, boolean lock) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT seq, hash FROM audit_heads WHERE shard = ?" + (lock ? " FOR UPDATE" : ""))) {
      ps.setInt(1, shard);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Mark(shard, rs.getLong(1), rs.getString(2)) : null;
      }
    }
  }

  /** Remembers the newest head this store wrote or verified on a shard (after its commit). */
  void witness(Mark mark) {
    witness.merge(mark.shard(), mark.seq(), Math::max);
  }

  /** True at most once a second per store, when a partitioned store should tie its shards together again. */
  boolean checkpointDue() {
    if (shards == 1) {
      return false;
    }
    long now = System.nanoTime();
    long next = nextCheckpoint.get();
    return now - next >= 0 && nextCheckpoint.compareAndSet(next, now + CHECKPOINT_INTERVAL_NANOS);
  }

  /**
   * Appends a checkpoint recording every shard's committed head, unless the newest checkpoint
   * records the same; returns it (or {@code null} when nothing was written).
   */
  Mark checkpoint(Connection c) throws SQLException {
    Mark last = lockHead(c, CHECKPOINTS);
    Map<String, String> heads = new TreeMap<>();
    try (PreparedStatement ps = c.prepareStatement(
            "SELECT shard, seq, hash FROM audit_heads WHERE shard >= 0 ORDER BY shard");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        if (rs.getLong(2) > 0) {
          heads.put("shard." + rs.getInt(1), rs.getLong(2) + ":" + rs.getString(3));
        }
      }
    }
    if (heads.isEmpty()) {
      return null;
    }
    if (last.seq() > 0) {
      try (PreparedStatement ps =
          c.prepareStatement("SELECT detail FROM audit_events WHERE shard = ? AND seq = ?")) {
        bind(ps, CHECKPOINTS, last.seq());
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && heads.equals(read(rs.getString(1)))) {
            return null;
          }
        }
      }
    }
    return append(
        c,
        CHECKPOINTS,
        new AuditEvent(
            UUID.randomUUID().toString(),
            Instant.now(),
            CHECKPOINT_TYPE,
            null,
            null,
            AuditEvent.SUCCESS,
            heads));
  }

  // ---------------------------------------------------------------- listing

  /** Every event on the chains, in the global order: time, then shard, then sequence. */
  List<AuditEvent> events(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS
            + " FROM audit_events e WHERE " + ON_CHAIN + " ORDER BY e.event_time, e.shard, e.seq");
        ResultSet rs = ps.executeQuery()) {
      List<AuditEvent> out = new ArrayList<>();
      while (rs.next()) {
        out.add(event(rs));
      }
      return List.copyOf(out);
    }
  }

  /** The newest {@code query.limit()} matching events, oldest first, in the global order. */
  List<AuditEvent> events(Connection c, AuditQuery query) throws SQLException {
    StringBuilder sql =
        new StringBuilder("SELECT " + COLUMNS + " FROM audit_events e WHERE ").append(ON_CHAIN);
    List<Object> args = new ArrayList<>();
    if (query.since() != null) {
      sql.append(" AND e.event_time >= ?");
      args.add(query.since());
    }
    if (query.type() != null) {
      sql.append(" AND (e.type = ? OR e.type LIKE ? ESCAPE '!')");
      args.add(query.type());
      args.add(query.type().replace("!", "!!").replace("%", "!%").replace("_", "!_") + ".%");
    }
    if (query.bot() != null) {
      sql.append(" AND e.bot = ?");
      args.add(query.bot());
    }
    sql.append(" ORDER BY e.event_time DESC, e.shard DESC, e.seq DESC LIMIT ?");
    args.add(query.limit());
    try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
      bind(ps, args.toArray());
      ps.setFetchSize(Math.min(query.limit(), 500));
      List<AuditEvent> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(event(rs));
        }
      }
      Collections.reverse(out);
      return List.copyOf(out);
    }
  }

  private AuditEvent event(ResultSet rs) throws SQLException {
    return new AuditEvent(
        rs.getString("id"),
        instant(rs, "event_time"),
        rs.getString("type"),
        rs.getString("bot"),
        rs.getString("instance_id"),
        rs.getString("outcome"),
        read(rs.getString("detail")));
  }

  // ---------------------------------------------------------------- verification

  /**
   * Verifies every shard, then the checkpoints and that each still matches the shards. With only
   * shard 0 in the database, the result is that of the single chain; otherwise its head and anchor
   * are those of the checkpoint chain, and {@code pinned} names a checkpoint.
   */
  AuditVerification verify(Connection c, Mark pinned) throws SQLException {
    Map<Integer, Mark> heads = heads(c);
    Map<Integer, Mark> anchors = anchors(c);
    TreeSet<Integer> all = new TreeSet<>(heads.keySet());
    all.addAll(anchors.keySet());
    all.addAll(witness.keySet());
    try (PreparedStatement ps =
            c.prepareStatement("SELECT shard FROM audit_events GROUP BY shard");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        all.add(rs.getInt(1));
      }
    }
    all.add(0);
    AuditVerification v = all.size() == 1
        ? walk(c, 0, "", Long.MAX_VALUE, pinned, null)
        : verifyShards(c, all, heads, anchors, pinned);
    if (v.intact()) {
      Unvouched u = unvouched(c);
      if (u != null) {
        v = AuditVerification.broken(
            v.rowsChecked(),
            u.anchor().seq(),
            null,
            u.problem(),
            v.anchorSequence(),
            v.headSequence(),
            v.headHash());
      }
    }
    if (v.intact()) {
      heads.values().forEach(this::witness);
    }
    return v;
  }

  private AuditVerification verifyShards(
      Connection c,
      TreeSet<Integer> all,
      Map<Integer, Mark> heads,
      Map<Integer, Mark> anchors,
      Mark pinned)
      throws SQLException {
    long rows = 0;
    for (int shard : all) {
      if (shard == CHECKPOINTS) {
        continue;
      }
      AuditVerification v = walk(c, shard, "shard " + shard + ": ", Long.MAX_VALUE, null, null);
      if (!v.intact()) {
        return v;
      }
      rows += v.rowsChecked();
    }
    Map<Long, Map<String, String>> checkpoints = new TreeMap<>();
    AuditVerification tied =
        walk(c, CHECKPOINTS, "checkpoint chain: ", Long.MAX_VALUE, pinned, checkpoints);
    if (!tied.intact()) {
      return tied;
    }
    for (Map.Entry<Long, Map<String, String>> cp : checkpoints.entrySet()) {
      for (Map.Entry<String, String> entry : cp.getValue().entrySet()) {
        String problem = matches(c, cp.getKey(), entry.getKey(), entry.getValue(), heads, anchors);
        if (problem != null) {
          return AuditVerification.broken(
              rows + tied.rowsChecked(),
              cp.getKey(),
              null,
              problem,
              tied.anchorSequence(),
              tied.headSequence(),
              tied.headHash());
        }
      }
    }
    return AuditVerification.ok(
        rows + tied.rowsChecked(), tied.anchorSequence(), tied.headSequence(), tied.headHash());
  }

  /** An anchor that no recorded prune set, and the problem to report. */
  private record Unvouched(Mark anchor, String problem, boolean anyPruneRecorded) {}

  /**
   * The first anchor past genesis that the newest {@code audit.pruned} event on the chains does not
   * list with its row and hash, or {@code null} when each is vouched for. Only a prune moves an
   * anchor, and it records all of them in the event it appends in the same transaction; an anchor
   * moved by hand (to hide a deleted prefix) is not listed. Anchors and the event are read again
   * when a prune committed between the two reads.
   */
  private Unvouched unvouched(Connection c) throws SQLException {
    Map<Integer, Mark> anchors = anchors(c);
    for (int attempt = 0; ; attempt++) {
      Map<String, String> recorded = newestPrune(c);
      Map<Integer, Mark> again = anchors(c);
      if (!again.equals(anchors) && attempt < 3) {
        anchors = again;
        continue;
      }
      for (Mark a : anchors.values()) {
        if (a.seq() == 0) {
          continue;
        }
        if (recorded != null
            && (a.seq() + ":" + a.hash()).equals(recorded.get("anchor." + a.shard()))) {
          continue;
        }
        String problem = "the anchor of "
            + (a.shard() == CHECKPOINTS ? "the checkpoint chain" : "shard " + a.shard()) + " (row "
            + a.seq()
            + ") was not set by a recorded prune: the rows before it were deleted"
            + (recorded == null
                ? " (if the log was pruned before prunes were recorded, anchor not vouched for: run `issuer audit prune` once to record it)"
                : "");
        return new Unvouched(a, problem, recorded != null);
      }
      return null;
    }
  }

  /** The details of the newest {@code audit.pruned} event on the chains, or {@code null}. */
  private Map<String, String> newestPrune(Connection c) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT e.detail FROM audit_events e WHERE " + ON_CHAIN
            + " AND e.type = ? ORDER BY e.event_time DESC, e.shard DESC, e.seq DESC LIMIT 1")) {
      ps.setString(1, PRUNED_TYPE);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? read(rs.getString(1)) : null;
      }
    }
  }

  /** Whether one entry of a checkpoint ({@code shard.K = SEQ:HASH}) still holds; the problem if not. */
  private static String matches(
      Connection c,
      long checkpoint,
      String key,
      String value,
      Map<Integer, Mark> heads,
      Map<Integer, Mark> anchors)
      throws SQLException {
    int shard;
    long seq;
    String hash;
    try {
      shard = Integer.parseInt(key.substring("shard.".length()));
      int colon = value.indexOf(':');
      seq = Long.parseLong(value.substring(0, colon));
      hash = value.substring(colon + 1);
    } catch (RuntimeException e) {
      return "checkpoint row " + checkpoint + " has an entry that does not parse (" + key + "="
          + value + "): it was edited";
    }
    Mark head = heads.get(shard);
    if (head == null) {
      return "shard " + shard + " has no chain head, but checkpoint row " + checkpoint
          + " recorded it at row " + seq + ": the shard was removed";
    }
    if (head.seq() < seq) {
      return "shard " + shard + ": the chain head (row " + head.seq() + ") is behind row " + seq
          + ", which checkpoint row " + checkpoint
          + " recorded: the head was rewound and the rows after it removed";
    }
    Mark anchor = anchors.get(shard);
    if (anchor != null && seq <= anchor.seq()) {
      return null; // pruned by retention since
    }
    try (PreparedStatement ps =
        c.prepareStatement("SELECT hash FROM audit_events WHERE shard = ? AND seq = ?")) {
      bind(ps, shard, seq);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next() || !hash.equals(rs.getString(1))) {
          return "shard " + shard + ": row " + seq + " no longer has the hash checkpoint row "
              + checkpoint + " recorded: the shard was rewritten";
        }
      }
    }
    return null;
  }

  private static Map<Integer, Mark> heads(Connection c) throws SQLException {
    return marks(c, "SELECT shard, seq, hash FROM audit_heads");
  }

  private static Map<Integer, Mark> anchors(Connection c) throws SQLException {
    return marks(c, "SELECT shard, seq, hash FROM audit_anchors");
  }

  private static Map<Integer, Mark> marks(Connection c, String sql) throws SQLException {
    Map<Integer, Mark> out = new TreeMap<>();
    try (PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.put(rs.getInt(1), new Mark(rs.getInt(1), rs.getLong(2), rs.getString(3)));
      }
    }
    return out;
  }

  private static Mark mark(Connection c, String table, int shard) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement("SELECT seq, hash FROM " + table + " WHERE shard = ?")) {
      ps.setInt(1, shard);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? new Mark(shard, rs.getLong(1), rs.getString(2)) : null;
      }
    }
  }

  /**
   * Walks one shard from its anchor to its head (or to {@code upTo}, if lower) and reports the first
   * problem, prefixed by {@code name}. Read committed: each statement sees what was committed when
   * it started; an append commits its row and the head together, so a row seen beyond a head read
   * after it was written by no append. Collects the checkpoints' details into {@code checkpoints}
   * when given.
   */
  private AuditVerification walk(
      Connection c,
      int shard,
      String name,
      long upTo,
      Mark pinned,
      Map<Long, Map<String, String>> checkpoints)
      throws SQLException {
    Mark anchor = mark(c, "audit_anchors", shard);
    Mark head = mark(c, "audit_heads", shard);
    if (shard == 0 && (anchor == null || head == null)) {
      return AuditVerification.broken(
          0,
          1,
          null,
          name + "the chain " + (head == null ? "head" : "anchor") + " row is missing",
          -1,
          -1,
          null);
    }
    if (anchor == null) {
      anchor = new Mark(shard, 0, GENESIS);
    }
    if (head == null) {
      // rows, a witness or an anchor name a shard whose head row was removed
      head = new Mark(shard, 0, GENESIS);
      if (anchor.seq() > 0 || witness.getOrDefault(shard, 0L) > 0) {
        return AuditVerification.broken(
            0,
            anchor.seq() + 1,
            null,
            name + "the chain head row is missing: the shard was removed",
            anchor.seq(),
            -1,
            null);
      }
    }
    long a = anchor.seq();
    long end = Math.min(head.seq(), upTo);
    long expected = a + 1;
    String prev = anchor.hash();
    String pinnedSeen = pinned != null && pinned.seq() == a ? anchor.hash() : null;
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT " + COLUMNS + " FROM audit_events WHERE shard = ? AND seq <= ? ORDER BY seq")) {
      bind(ps, shard, end);
      ps.setFetchSize(500);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          long seq = rs.getLong("seq");
          String id = rs.getString("id");
          long checked = expected - 1 - a;
          if (seq <= a) {
            return broken(
                0,
                seq,
                id,
                name + "row " + seq + " lies before the chain's anchor (row " + a
                    + "): it is not on the chain",
                a,
                head);
          }
          if (seq != expected) {
            return broken(
                checked,
                expected,
                null,
                name + "row " + expected + " is missing (the next row is " + seq + ", id " + id
                    + "): rows were deleted",
                a,
                head);
          }
          if (!prev.equals(rs.getString("prev_hash"))) {
            return broken(
                checked,
                seq,
                id,
                name + "prev_hash does not match the hash of row " + (seq - 1)
                    + ": the chain was relinked",
                a,
                head);
          }
          AuditEvent e;
          try {
            e = event(rs);
          } catch (RuntimeException ex) {
            return broken(
                checked,
                seq,
                id,
                name + "the row does not parse (" + ex.getMessage() + "): it was edited",
                a,
                head);
          }
          String hash = rs.getString("hash");
          if (!chainHash(prev, shard, seq, e).equals(hash)) {
            return broken(
                checked,
                seq,
                id,
                name + "the content does not match its hash: the row was edited",
                a,
                head);
          }
          if (checkpoints != null) {
            if (!CHECKPOINT_TYPE.equals(e.type())) {
              return broken(
                  checked,
                  seq,
                  id,
                  name + "the row is a '" + e.type()
                      + "' event, not a checkpoint: it was moved here",
                  a,
                  head);
            }
            checkpoints.put(seq, e.detail());
          }
          if (pinned != null && pinned.seq() == seq) {
            pinnedSeen = hash;
          }
          prev = hash;
          expected++;
        }
      }
    }
    long last = expected - 1;
    long checked = last - a;
    if (last != end) {
      return broken(
          checked,
          last + 1,
          null,
          name + "the chain head names row " + head.seq() + " but the last row is " + last
              + ": rows at the end were deleted",
          a,
          head);
    }
    if (upTo < head.seq()) {
      return AuditVerification.ok(checked, a, last, prev);
    }
    if (!head.hash().equals(prev)) {
      return broken(
          checked,
          head.seq(),
          null,
          name + "the chain head's hash differs from the hash of row " + head.seq()
              + ": the head was rewritten",
          a,
          head);
    }
    // Rows beyond the head: an append commits its row with the head, so a row still beyond a head
    // read after it was not written by an append (or the head was rewound over it).
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT seq, id FROM audit_events WHERE shard = ? AND seq > ? ORDER BY seq LIMIT 1")) {
      bind(ps, shard, head.seq());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          long beyond = rs.getLong(1);
          String id = rs.getString(2);
          Mark now = mark(c, "audit_heads", shard);
          if (now == null || beyond > now.seq()) {
            return broken(
                checked,
                beyond,
                id,
                name + "row " + beyond + " lies beyond the chain head (row " + head.seq()
                    + "): it was inserted outside the chain or the head was rewound",
                a,
                head);
          }
        }
      }
    }
    if (pinned != null) {
      if (pinned.seq() > head.seq()) {
        return broken(
            checked,
            head.seq() + 1,
            null,
            name + "the chain head (row " + head.seq() + ") is behind the pinned row "
                + pinned.seq() + ": the head was rewound and the rows after it removed",
            a,
            head);
      }
      if (pinnedSeen != null && !pinnedSeen.equals(pinned.hash())) {
        return broken(
            checked,
            pinned.seq(),
            null,
            name + "row " + pinned.seq()
                + " no longer has the pinned hash: the chain was rewritten",
            a,
            head);
      }
      if (pinnedSeen == null) {
        return broken(
            checked,
            pinned.seq(),
            null,
            name + "the pinned row " + pinned.seq() + " was pruned by retention (the anchor is row "
                + a + "); pin a newer head",
            a,
            head);
      }
    }
    long witnessed = witness.getOrDefault(shard, 0L);
    if (witnessed > head.seq()) {
      return broken(
          checked,
          head.seq() + 1,
          null,
          name + "the chain head (row " + head.seq() + ") is behind row " + witnessed
              + ", which this issuer wrote or verified: the head was rewound and the rows after it removed",
          a,
          head);
    }
    return AuditVerification.ok(checked, a, head.seq(), head.hash());
  }

  private static AuditVerification broken(
      long checked, long seq, String id, String problem, long anchor, Mark head) {
    return AuditVerification.broken(checked, seq, id, problem, anchor, head.seq(), head.hash());
  }

  // ---------------------------------------------------------------- retention

  /** What a prune removed, and the {@code audit.pruned} event it appended (or {@code null}). */
  record Pruned(int removed, Mark recorded) {}

  /**
   * Removes, shard by shard (the checkpoints last), the rows before {@code before} from the front
   * of each chain, after verifying the stretch removed; moves each shard's anchor to its last
   * removed row. Then appends to {@code shard} an {@code audit.pruned} event listing every anchor
   * past genesis, which is what vouches for them at verification. Refuses, removing nothing, when
   * an anchor is not vouched for by the newest such event; when the log holds none (a store pruned
   * before prunes were recorded), the anchors found are recorded as they are.
   *
   * @throws AuditRetentionRefusedException when the chain does not verify (naming the broken row)
   */
  Pruned prune(Connection c, Instant before, int shard) throws SQLException {
    Unvouched unvouched = unvouched(c);
    if (unvouched != null && unvouched.anyPruneRecorded()) {
      // a refusal, not a store failure: the transaction rolls back and nothing is removed
      throw new AuditRetentionRefusedException(unvouched.anchor().seq(), unvouched.problem());
    }
    int removed = prune(c, before);
    if (removed == 0 && unvouched == null) {
      return new Pruned(0, null);
    }
    Map<String, String> detail = new TreeMap<>();
    for (Mark a : anchors(c).values()) {
      if (a.seq() > 0) {
        detail.put("anchor." + a.shard(), a.seq() + ":" + a.hash());
      }
    }
    detail.put("before", before.toString());
    // never older than the row before it on its shard, so that a later prune (which removes the
    // prefix up to the newest row older than its cut-off) does not take rows after it along
    Instant at = Instant.now();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT e.event_time FROM audit_events e JOIN audit_heads h ON h.shard = e.shard AND h.seq = e.seq WHERE e.shard = ?")) {
      ps.setInt(1, shard);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next() && instant(rs, "event_time").isAfter(at)) {
          at = instant(rs, "event_time");
        }
      }
    }
    Mark recorded = append(
        c,
        shard,
        new AuditEvent(
            UUID.randomUUID().toString(), at, PRUNED_TYPE, null, null, AuditEvent.SUCCESS, detail));
    return new Pruned(removed, recorded);
  }

  private int prune(Connection c, Instant before) throws SQLException {
    List<Integer> order = new ArrayList<>(heads(c).keySet());
    if (order.remove(Integer.valueOf(CHECKPOINTS))) {
      order.add(CHECKPOINTS);
    }
    Map<String, Long> removedUpTo = new LinkedHashMap<>();
    int removed = 0;
    for (int shard : order) {
      // the anchor row is locked first, so that two prunes do not interleave
      update(
          c,
          "INSERT INTO audit_anchors (shard, seq, hash) VALUES (?, 0, ?) ON CONFLICT DO NOTHING",
          shard,
          GENESIS);
      try (PreparedStatement ps =
          c.prepareStatement("SELECT seq FROM audit_anchors WHERE shard = ? FOR UPDATE")) {
        ps.setInt(1, shard);
        try (ResultSet rs = ps.executeQuery()) {
          if (!rs.next()) {
            throw new SQLException("the audit chain anchor row of shard " + shard + " is missing");
          }
        }
      }
      long target;
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT MAX(e.seq) FROM audit_events e WHERE e.shard = ? AND e.seq <= (SELECT h.seq FROM audit_heads h WHERE h.shard = e.shard)"
              + " AND e.seq > COALESCE((SELECT a.seq FROM audit_anchors a WHERE a.shard = e.shard), 0) AND e.event_time < ?")) {
        bind(ps, shard, before);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          target = rs.getLong(1);
          if (rs.wasNull()) {
            continue;
          }
        }
      }
      // Only a verified stretch is pruned: retention must not launder an edited or deleted row.
      String name = order.size() == 1
          ? ""
          : shard == CHECKPOINTS ? "checkpoint chain: " : "shard " + shard + ": ";
      AuditVerification v = walk(c, shard, name, target, null, null);
      if (!v.intact()) {
        throw new AuditRetentionRefusedException(
            v.brokenSequence(), "the chain does not verify up to row " + target + ": " + v);
      }
      removed += update(c, "DELETE FROM audit_events WHERE shard = ? AND seq <= ?", shard, target);
      update(
          c,
          "UPDATE audit_anchors SET seq = ?, hash = ?, pruned_at = ? WHERE shard = ?",
          target,
          v.headHash(),
          before,
          shard);
      removedUpTo.put(name.isEmpty() ? "the chain" : name.substring(0, name.length() - 2), target);
    }
    if (removed > 0) {
      LOG.info(
          "audit retention removed {} rows of events before {}; the anchors are now {}",
          removed,
          before,
          removedUpTo);
    }
    return removed;
  }

  // ---------------------------------------------------------------- hashing

  /**
   * SHA-256 over the previous hash and the row's canonical content, as lower-case hex. Rows of
   * shard 0 (the chain before shards) hash their sequence number alone, as they always did; rows of
   * other shards hash {@code shard/seq}, so a row moved between shards no longer matches.
   */
  static String chainHash(String prevHash, int shard, long seq, AuditEvent e) {
    StringBuilder b = new StringBuilder(prevHash).append('\n');
    field(b, shard == 0 ? Long.toString(seq) : shard + "/" + seq);
    field(b, e.id());
    field(b, e.time().toString());
    field(b, e.type());
    field(b, e.bot());
    field(b, e.instanceId());
    field(b, e.outcome());
    Map<String, String> sorted = new TreeMap<>(e.detail());
    field(b, Integer.toString(sorted.size()));
    sorted.forEach((k, v) -> {
      field(b, k);
      field(b, v);
    });
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256")
              .digest(b.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException ex) {
      throw new IllegalStateException("SHA-256 unavailable", ex);
    }
  }

  /** Length-prefixed, so no two different rows have one canonical form; {@code ~} marks null. */
  private static void field(StringBuilder b, String value) {
    if (value == null) {
      b.append("~;");
    } else {
      b.append(value.length()).append(':').append(value).append(';');
    }
  }

  private String write(Object value) {
    try {
      return json.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  private Map<String, String> read(String text) {
    try {
      return json.readValue(text, STRING_MAP);
    } catch (JsonProcessingException e) {
      throw new StoreException("stored JSON does not parse as " + STRING_MAP.getType(), e);
    }
  }
}
