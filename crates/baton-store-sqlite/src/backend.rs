//! SQLite's three dialect statements for the shared SQL backend
//! ([`baton_store::sql_backend!`]): reads, the writer transaction, inserts.

use crate::SqliteStore;

baton_store::sql_backend! {
    store: SqliteStore,
    write_tx: SqliteWriteTx,
    database: sqlx::Sqlite,
    row: sqlx::sqlite::SqliteRow,
    // Take the write lock at once, so a batch never fails half way on SQLITE_BUSY.
    begin: "BEGIN IMMEDIATE",
    lock_head: "SELECT position, hash FROM chain_head WHERE id = 1",
    update: "UPDATE handoffs SET owner_group = $1, state = $2, assignee = $3, updated_us = $4, \
             claim_token = $5, last_seq = $6, doc = $7 WHERE id = $8 AND state = $9",
    // One instance per file: nothing to lease ($2 is unused).
    claim_timers: "SELECT handoff_id, kind, level, due_us FROM timers \
             WHERE due_us <= $1 AND $2 IS NOT NULL ORDER BY due_us LIMIT $3",
    claim_deliveries: "SELECT id, channel, handoff_id, event, role, payload, state, attempts, next_us, last_error, created_us, updated_us \
             FROM deliveries WHERE state = 'pending' AND next_us <= $1 AND $2 IS NOT NULL ORDER BY next_us LIMIT $3",
}
