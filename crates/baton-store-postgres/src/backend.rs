//! PostgreSQL's three dialect statements for the shared SQL backend
//! ([`baton_store::sql_backend!`]): reads, the writer transaction, inserts.

use crate::PgStore;

baton_store::sql_backend! {
    store: PgStore,
    write_tx: PgWriteTx,
    database: sqlx::Postgres,
    row: sqlx::postgres::PgRow,
    begin: "BEGIN",
    // One chain for every instance: each batch holds the head's row lock until commit.
    lock_head: "SELECT position, hash FROM chain_head WHERE id = 1 FOR UPDATE",
    // Claims and other changes go through a SKIP LOCKED CTE conditioned on the
    // expected state: of concurrent changes to one item exactly one applies.
    update: "WITH target AS (SELECT id FROM handoffs WHERE id = $8 AND state = $9 FOR UPDATE SKIP LOCKED) \
             UPDATE handoffs h SET owner_group = $1, state = $2, assignee = $3, updated_us = $4, \
             claim_token = $5, last_seq = $6, doc = $7 FROM target WHERE h.id = target.id",
    // Instances lease disjoint due timers: a row one instance holds is skipped
    // by the others, and its lease keeps it skipped until it is fired.
    claim_timers: "UPDATE timers SET lease_us = $2 WHERE (handoff_id, kind, level) IN \
             (SELECT handoff_id, kind, level FROM timers WHERE due_us <= $1 AND lease_us <= $1 \
              ORDER BY due_us LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING handoff_id, kind, level, due_us",
    claim_deliveries: "UPDATE deliveries SET lease_us = $2 WHERE id IN \
             (SELECT id FROM deliveries WHERE state = 'pending' AND next_us <= $1 AND lease_us <= $1 \
              ORDER BY next_us LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, channel, handoff_id, event, role, payload, state, attempts, next_us, last_error, created_us, updated_us",
    extra: {
        async fn notify_policy(&self, version: &str) -> Result<(), StoreError> {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(baton_store::POLICY_CHANNEL)
                .bind(version)
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
            Ok(())
        }

        async fn policy_notifications(
            &self,
        ) -> Result<Option<tokio::sync::mpsc::Receiver<String>>, StoreError> {
            crate::listen::policy_notifications(&self.pool)
                .await
                .map(Some)
                .map_err(map_err)
        }
    },
}
