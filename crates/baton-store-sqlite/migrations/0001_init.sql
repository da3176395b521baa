-- Baton's first schema on SQLite. Never edit an applied migration: add a new one.
CREATE TABLE handoffs (
    id          TEXT PRIMARY KEY NOT NULL,
    workflow    TEXT NOT NULL,
    owner_group TEXT NOT NULL,
    impact      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    state       TEXT NOT NULL,
    assignee    TEXT,
    created_us  BIGINT NOT NULL,
    updated_us  BIGINT NOT NULL,
    claim_token TEXT,
    last_seq    BIGINT NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX handoffs_created ON handoffs (created_us, id);
CREATE INDEX handoffs_state ON handoffs (state, created_us, id);
CREATE INDEX handoffs_group ON handoffs (owner_group, state, created_us);

CREATE TABLE idempotency_keys (
    key        TEXT PRIMARY KEY NOT NULL,
    handoff_id TEXT NOT NULL,
    body_hash  TEXT NOT NULL
);

CREATE TABLE events (
    position   BIGINT PRIMARY KEY NOT NULL,
    handoff_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    at_us      BIGINT NOT NULL,
    data       TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    UNIQUE (handoff_id, seq)
);

CREATE TABLE chain_head (
    id       INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    position BIGINT NOT NULL,
    hash     TEXT NOT NULL
);
INSERT INTO chain_head (id, position, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE tokens (
    id             TEXT PRIMARY KEY NOT NULL,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    groups_json    TEXT NOT NULL,
    workflows_json TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE,
    created_us     BIGINT NOT NULL,
    revoked_us     BIGINT
);
