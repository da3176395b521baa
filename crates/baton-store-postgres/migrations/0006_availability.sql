-- Reviewers' availability for automatic assignment, and when the assigner
-- last gave each one an item (round robin's turn). `available` is 0 or 1
-- (one SQL text for SQLite, which has no BOOLEAN, and PostgreSQL).
CREATE TABLE availability (
    reviewer         TEXT PRIMARY KEY NOT NULL,
    available        BIGINT NOT NULL,
    updated_us       BIGINT NOT NULL,
    last_assigned_us BIGINT
);
