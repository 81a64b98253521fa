-- Revocation: locks, bot deletions and admin removals win races with issuance.

-- One row every issuing transaction reads with a shared row lock (FOR SHARE on PostgreSQL, FOR UPDATE
-- on H2) before the reads that decide it, and every revocation (a new lock, a deleted bot, a removed
-- admin) updates first. A revocation therefore waits for issuances in flight to commit, and an
-- issuance that starts later waits for the revocation and then sees it: nothing is issued after a
-- revocation commits, on any replica.
CREATE TABLE revocations (
  id    INT PRIMARY KEY CHECK (id = 1),
  epoch BIGINT NOT NULL
);
INSERT INTO revocations (id, epoch) VALUES (1, 0);

-- Instances and tokens of bots deleted before deletion ended them: a bot re-created with the same
-- name must share nothing with the old one.
DELETE FROM bot_instances WHERE bot NOT IN (SELECT name FROM bots);
DELETE FROM tokens WHERE bot NOT IN (SELECT name FROM bots);

-- Removed admins are kept as tombstones, so that re-adding a name refuses the certificates issued
-- to the admin that was removed (not_before: certificates issued earlier are refused).
ALTER TABLE admins ADD COLUMN removed_at TIMESTAMP WITH TIME ZONE;
ALTER TABLE admins ADD COLUMN not_before TIMESTAMP WITH TIME ZONE;
