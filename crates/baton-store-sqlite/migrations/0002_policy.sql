-- Policy versions (kept for replay) and trigger streak counts per conversation.
CREATE TABLE policy_versions (
    version   TEXT PRIMARY KEY NOT NULL,
    text      TEXT NOT NULL,
    loaded_us BIGINT NOT NULL
);

CREATE TABLE streaks (
    conversation_id TEXT PRIMARY KEY NOT NULL,
    counts          TEXT NOT NULL,
    updated_us      BIGINT NOT NULL
);
