package dev.machineid.issuer.internal.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * Schema version 6: the audit chain split into shards, each its own hash chain with its own head
 * and retention anchor, so that concurrent audited writes do not all queue on one head row.
 *
 * <p>In Java rather than SQL only because the primary key of {@code audit_events} changes from
 * {@code (seq)} to {@code (shard, seq)}, and the name of the old key differs between PostgreSQL
 * ({@code audit_events_pkey}) and H2 (generated): it is read from the information schema, which both
 * have. The existing rows become shard 0, whose head and anchor are the old single ones, so a chain
 * written before verifies unchanged, with the same hashes.
 */
public final class V6__Partitioned_audit_chain extends BaseJavaMigration {
  @Override
  public void migrate(Context context) throws SQLException {
    Connection c = context.getConnection();
    String primaryKey;
    try (PreparedStatement ps = c.prepareStatement(
            "SELECT constraint_name FROM information_schema.table_constraints"
                + " WHERE table_name = 'audit_events' AND table_schema = CURRENT_SCHEMA AND constraint_type = 'PRIMARY KEY'");
        ResultSet rs = ps.executeQuery()) {
      if (!rs.next()) {
        throw new SQLException(
            "audit_events has no primary key to replace; the schema is not at version 5");
      }
      primaryKey = rs.getString(1);
    }
    try (Statement s = c.createStatement()) {
      s.execute("ALTER TABLE audit_events ADD COLUMN shard INT NOT NULL DEFAULT 0");
      s.execute(
          "ALTER TABLE audit_events DROP CONSTRAINT \"" + primaryKey.replace("\"", "\"\"") + "\"");
      s.execute(
          "ALTER TABLE audit_events ADD CONSTRAINT audit_events_shard_seq PRIMARY KEY (shard, seq)");
      // listings read in the global order (time, shard, sequence), newest first
      s.execute("DROP INDEX audit_events_event_time");
      s.execute("DROP INDEX audit_events_type_seq");
      s.execute("DROP INDEX audit_events_bot_seq");
      s.execute("CREATE INDEX audit_events_order ON audit_events (event_time, shard, seq)");
      s.execute(
          "CREATE INDEX audit_events_type_order ON audit_events (type, event_time, shard, seq)");
      s.execute(
          "CREATE INDEX audit_events_bot_order ON audit_events (bot, event_time, shard, seq)");
      // One head per shard (shard -1 is the chain of checkpoints that tie the shards together),
      // locked by each append to that shard.
      s.execute(
          "CREATE TABLE audit_heads (shard INT PRIMARY KEY, seq BIGINT NOT NULL, hash CHAR(64) NOT NULL)");
      s.execute(
          "INSERT INTO audit_heads (shard, seq, hash) SELECT 0, seq, hash FROM audit_head WHERE id = 1");
      // Where retention last pruned each shard (no row: never pruned).
      s.execute(
          "CREATE TABLE audit_anchors (shard INT PRIMARY KEY, seq BIGINT NOT NULL, hash CHAR(64) NOT NULL, pruned_at TIMESTAMP WITH TIME ZONE)");
      s.execute(
          "INSERT INTO audit_anchors (shard, seq, hash, pruned_at) SELECT 0, seq, hash, pruned_at FROM audit_anchor WHERE id = 1");
      // an issuer of an earlier version fails on these instead of writing a second chain 0
      s.execute("DROP TABLE audit_head");
      s.execute("DROP TABLE audit_anchor");
    }
  }
}
