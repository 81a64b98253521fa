-- Issuer state. One set of migrations for PostgreSQL and for H2 in MODE=PostgreSQL.
-- Every single-use or compare-and-set rule is a key or a condition here, decided by one statement.

-- Redeemed challenge nonces: the primary key makes a challenge single-use across replicas.
CREATE TABLE used_challenges (
  nonce      VARCHAR(128) PRIMARY KEY,
  expires_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX used_challenges_expires_at ON used_challenges (expires_at);

CREATE TABLE bots (
  name       VARCHAR(63) PRIMARY KEY,
  roles      VARCHAR NOT NULL,  -- JSON array of role names
  traits     VARCHAR NOT NULL,  -- JSON object: trait name to list of values
  created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE roles (
  name       VARCHAR(63) PRIMARY KEY,
  spec       VARCHAR NOT NULL,  -- JSON of the role resource
  created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Operators allowed on the admin API.
CREATE TABLE admins (
  name       VARCHAR(63) PRIMARY KEY,
  created_at TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Join tokens by id (hex SHA-256 of the secret; the secret is never stored).
-- Consumption: UPDATE ... SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL AND expires_at > ?
CREATE TABLE tokens (
  id          VARCHAR(128) PRIMARY KEY,
  bot         VARCHAR(63) NOT NULL,
  join_method VARCHAR(32) NOT NULL,
  created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
  expires_at  TIMESTAMP WITH TIME ZONE NOT NULL,
  consumed_at TIMESTAMP WITH TIME ZONE,
  name        VARCHAR(256),                 -- plain name of a delegated-method token; NULL for a secret
  rules       VARCHAR NOT NULL DEFAULT '{}' -- JSON: the join method's block of the token resource
);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- Bot instances. Renewal: UPDATE ... WHERE id = ? AND generation = ? (compare-and-set).
CREATE TABLE bot_instances (
  id                      VARCHAR(64) PRIMARY KEY,
  bot                     VARCHAR(63) NOT NULL,
  join_method             VARCHAR(32) NOT NULL,
  token_id                VARCHAR(128) NOT NULL,
  attested_identity       VARCHAR(1024) NOT NULL,
  created_at              TIMESTAMP WITH TIME ZONE NOT NULL,
  generation              BIGINT NOT NULL,
  public_key_hash         VARCHAR(64) NOT NULL,
  credentials             VARCHAR NOT NULL,  -- the credentials issued at this generation, as sent
  serial                  VARCHAR(64) NOT NULL,
  initial_authentication  VARCHAR NOT NULL,  -- JSON
  latest_authentication   VARCHAR NOT NULL,  -- JSON
  latest_authenticated_at TIMESTAMP WITH TIME ZONE NOT NULL,
  latest_heartbeat        VARCHAR            -- JSON or NULL
);
CREATE INDEX bot_instances_bot ON bot_instances (bot);
CREATE INDEX bot_instances_latest_authenticated_at ON bot_instances (latest_authenticated_at);

CREATE TABLE locks (
  id           VARCHAR(64) PRIMARY KEY,
  target       VARCHAR(16) NOT NULL,   -- bot, instance, token, identity, serial
  target_value VARCHAR(1024) NOT NULL,
  reason       VARCHAR(1024) NOT NULL,
  created_at   TIMESTAMP WITH TIME ZONE NOT NULL,
  expires_at   TIMESTAMP WITH TIME ZONE
);
CREATE INDEX locks_target ON locks (target, target_value);

-- Append-only, hash-chained audit: hash = SHA-256(prev_hash || canonical row content).
-- Replicas need only INSERT and SELECT here (see docs/issuer-storage.md).
CREATE TABLE audit_events (
  seq         BIGINT PRIMARY KEY,
  id          VARCHAR(64) NOT NULL UNIQUE,
  event_time  TIMESTAMP WITH TIME ZONE NOT NULL,
  type        VARCHAR(64) NOT NULL,
  bot         VARCHAR(63),
  instance_id VARCHAR(64),
  outcome     VARCHAR(16) NOT NULL,
  detail      VARCHAR NOT NULL,  -- JSON object of strings
  prev_hash   CHAR(64) NOT NULL,
  hash        CHAR(64) NOT NULL
);
CREATE INDEX audit_events_event_time ON audit_events (event_time);

-- The chain head: one row, locked (SELECT ... FOR UPDATE) by each append, so that appends from
-- any number of replicas form one chain with gapless sequence numbers.
CREATE TABLE audit_head (
  id   INT PRIMARY KEY CHECK (id = 1),
  seq  BIGINT NOT NULL,
  hash CHAR(64) NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
