-- Durable timers: each open handoff's armed SLA reminders and breaches (and,
-- later, escalation steps). The writer replaces a handoff's rows in the same
-- transaction as each change, and deletes a row in the transaction that fires
-- it, so a timer fires at most once. `lease_us` keeps other instances off a
-- timer one is about to fire (0: free).
CREATE TABLE timers (
    handoff_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    level      BIGINT NOT NULL,
    due_us     BIGINT NOT NULL,
    lease_us   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (handoff_id, kind, level)
);
CREATE INDEX timers_due ON timers (due_us);
