//! The SQLite side of the group-commit writer: `BEGIN IMMEDIATE` … `COMMIT` on one owned connection.

use async_trait::async_trait;
use baton_core::event::micros;
use baton_core::{ChainHead, Event, Handoff, LifecycleState};
use baton_store::pending::PendingRows;
use baton_store::sql::{self, INSERT_CHUNK};
use baton_store::{Idempotency, Loaded, StoreError, WriteTx};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

use crate::map_err;

pub(crate) struct SqliteWriteTx {
    conn: SqliteConnection,
    pending: PendingRows,
}

impl SqliteWriteTx {
    pub(crate) fn new(conn: SqliteConnection) -> Self {
        Self {
            conn,
            pending: PendingRows::default(),
        }
    }

    fn conn(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        Ok(&mut self.conn)
    }

    /// Sends the buffered rows as multi-row inserts. Every failure here is a
    /// `Backend` error, so the writer rolls the whole batch back.
    async fn flush(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        for chunk in pending.handoffs.chunks(INSERT_CHUNK) {
            let text = sql::multi_row_insert(sql::HANDOFF_INSERT_COLUMNS, 11, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
            for row in chunk {
                let (created_us, updated_us) = row.times();
                for text in row.texts() {
                    q = q.bind(text);
                }
                q = q
                    .bind(row.handoff.assignee.clone())
                    .bind(created_us)
                    .bind(updated_us)
                    .bind(1_i64)
                    .bind(row.doc.clone());
            }
            q.execute(&mut *self.conn()?).await.map_err(map_err)?;
        }
        for chunk in pending.idempotency.chunks(INSERT_CHUNK) {
            let text = sql::multi_row_insert(sql::IDEMPOTENCY_INSERT_COLUMNS, 3, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
            for (key, id, hash) in chunk {
                q = q.bind(key.clone()).bind(id.to_string()).bind(hash.clone());
            }
            q.execute(&mut *self.conn()?).await.map_err(map_err)?;
        }
        for chunk in pending.events.chunks(INSERT_CHUNK) {
            let text = sql::multi_row_insert(sql::EVENT_INSERT_COLUMNS, 9, chunk.len());
            let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
            for e in chunk {
                q = q
                    .bind(e.position)
                    .bind(e.handoff_id.to_string())
                    .bind(e.seq)
                    .bind(e.kind.as_str())
                    .bind(e.actor.clone())
                    .bind(micros(e.at))
                    .bind(e.data.to_string())
                    .bind(e.prev_hash.clone())
                    .bind(e.hash.clone());
            }
            q.execute(&mut *self.conn()?).await.map_err(map_err)?;
        }
        Ok(())
    }
}

#[async_trait]
impl WriteTx for SqliteWriteTx {
    async fn begin(&mut self) -> Result<ChainHead, StoreError> {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *self.conn()?)
            .await
            .map_err(map_err)?;
        let row = sqlx::query("SELECT position, hash FROM chain_head WHERE id = 1")
            .fetch_one(&mut *self.conn()?)
            .await
            .map_err(map_err)?;
        Ok(ChainHead {
            position: row.try_get(0).map_err(map_err)?,
            hash: row.try_get(1).map_err(map_err)?,
        })
    }

    async fn load(&mut self, id: Uuid) -> Result<Option<Loaded>, StoreError> {
        if let Some(loaded) = self.pending.load(id) {
            return Ok(Some(loaded));
        }
        let row = sqlx::query("SELECT doc, claim_token, last_seq FROM handoffs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn()?)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let doc: String = row.try_get(0).map_err(map_err)?;
        Ok(Some(Loaded {
            handoff: sql::handoff_from_doc(&doc)?,
            claim_token: row.try_get(1).map_err(map_err)?,
            last_seq: row.try_get(2).map_err(map_err)?,
        }))
    }

    async fn find_idempotency(&mut self, key: &str) -> Result<Option<(Uuid, String)>, StoreError> {
        if let Some(found) = self.pending.find_idempotency(key) {
            return Ok(Some(found));
        }
        let row = sqlx::query(sql::FIND_IDEMPOTENCY)
            .bind(key)
            .fetch_optional(&mut *self.conn()?)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get(0).map_err(map_err)?;
        let id = id.parse().map_err(StoreError::backend)?;
        Ok(Some((id, row.try_get(1).map_err(map_err)?)))
    }

    async fn insert(&mut self, h: &Handoff, idem: Option<&Idempotency>) -> Result<(), StoreError> {
        self.pending.insert(h, idem)
    }

    async fn update(
        &mut self,
        h: &Handoff,
        expected: LifecycleState,
        claim_token: Option<&str>,
        last_seq: i64,
    ) -> Result<bool, StoreError> {
        self.flush().await?;
        let doc = serde_json::to_string(h).map_err(StoreError::backend)?;
        let done = sqlx::query(
            "UPDATE handoffs SET owner_group = $1, state = $2, assignee = $3, updated_us = $4, \
             claim_token = $5, last_seq = $6, doc = $7 WHERE id = $8 AND state = $9",
        )
        .bind(h.owner_group.as_str())
        .bind(h.state.as_str())
        .bind(h.assignee.as_deref())
        .bind(micros(h.updated_at))
        .bind(claim_token)
        .bind(last_seq)
        .bind(doc)
        .bind(h.id.to_string())
        .bind(expected.as_str())
        .execute(&mut *self.conn()?)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn append(&mut self, e: &Event) -> Result<(), StoreError> {
        self.pending.events.push(e.clone());
        Ok(())
    }

    async fn commit(&mut self, head: &ChainHead) -> Result<(), StoreError> {
        self.flush().await?;
        sqlx::query(sql::SET_CHAIN_HEAD)
            .bind(head.position)
            .bind(&head.hash)
            .execute(&mut *self.conn()?)
            .await
            .map_err(map_err)?;
        sqlx::query("COMMIT")
            .execute(&mut *self.conn()?)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn rollback(&mut self) {
        self.pending = PendingRows::default();
        if let Err(err) = sqlx::query("ROLLBACK").execute(&mut self.conn).await {
            tracing::warn!(error = %err, "rollback failed");
        }
    }
}
