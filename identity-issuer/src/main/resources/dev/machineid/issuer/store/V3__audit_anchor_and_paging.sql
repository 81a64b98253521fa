-- Audit retention and paging.
--
-- The chain's anchor: the sequence number and hash of the last row removed by retention (0 and
-- 64 zeros while none was). Verification starts at anchor.seq + 1 with prev_hash = anchor.hash, so
-- a chain pruned from the front still verifies, while rows removed any other way still break it.
-- Only the role that prunes (the schema owner, see docs/issuer-storage.md) needs UPDATE here.
CREATE TABLE audit_anchor (
  id         INT PRIMARY KEY CHECK (id = 1),
  seq        BIGINT NOT NULL,
  hash       CHAR(64) NOT NULL,
  pruned_at  TIMESTAMP WITH TIME ZONE
);
INSERT INTO audit_anchor (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Listings filter by type or bot and read the newest rows first, in the database.
CREATE INDEX audit_events_type_seq ON audit_events (type, seq);
CREATE INDEX audit_events_bot_seq ON audit_events (bot, seq);
