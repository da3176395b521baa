-- The transactional outbox: one row per notification, written in the same
-- transaction as the change that causes it, delivered by the dispatcher with
-- retries. `id` is the delivery's `webhook-id`, the same on every attempt.
CREATE TABLE deliveries (
    id         TEXT PRIMARY KEY NOT NULL,
    channel    TEXT NOT NULL,
    handoff_id TEXT NOT NULL,
    event      TEXT NOT NULL,
    role       TEXT,
    payload    TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    next_us    BIGINT NOT NULL,
    lease_us   BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (state, next_us);

-- Channels a receiver disabled (it answered 410 Gone).
CREATE TABLE disabled_channels (
    channel     TEXT PRIMARY KEY NOT NULL,
    disabled_us BIGINT NOT NULL,
    reason      TEXT NOT NULL
);
