//! The PostgreSQL side of the group-commit writer: a pooled connection per batch,
//! the chain head locked `FOR UPDATE`, claims through a `SKIP LOCKED` CTE.

use async_trait::async_trait;
use baton_core::event::micros;
use baton_core::{ChainHead, Event, Handoff, LifecycleState};
use baton_store::sql;
use baton_store::{Idempotency, Loaded, StoreError, WriteTx};
use sqlx::Row;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, Postgres};
use uuid::Uuid;

use crate::map_err;

pub(crate) struct PgWriteTx {
    pool: PgPool,
    conn: Option<PoolConnection<Postgres>>,
}

impl PgWriteTx {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool, conn: None }
    }

    fn conn(&mut self) -> Result<&mut PoolConnection<Postgres>, StoreError> {
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::backend("no transaction in progress"))
    }
}

#[async_trait]
impl WriteTx for PgWriteTx {
    async fn begin(&mut self) -> Result<ChainHead, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        sqlx::query("BEGIN")
            .execute(&mut *conn)
            .await
            .map_err(map_err)?;
        self.conn = Some(conn);
        let row = sqlx::query("SELECT position, hash FROM chain_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut **self.conn()?)
            .await
            .map_err(map_err)?;
        Ok(ChainHead {
            position: row.try_get(0).map_err(map_err)?,
            hash: row.try_get(1).map_err(map_err)?,
        })
    }

    async fn load(&mut self, id: Uuid) -> Result<Option<Loaded>, StoreError> {
        let row = sqlx::query("SELECT doc, claim_token, last_seq FROM handoffs WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut **self.conn()?)
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
        let row = sqlx::query(sql::FIND_IDEMPOTENCY)
            .bind(key)
            .fetch_optional(&mut **self.conn()?)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let id: String = row.try_get(0).map_err(map_err)?;
        let id = id.parse().map_err(StoreError::backend)?;
        Ok(Some((id, row.try_get(1).map_err(map_err)?)))
    }

    async fn insert(&mut self, h: &Handoff, idem: Option<&Idempotency>) -> Result<(), StoreError> {
        let doc = serde_json::to_string(h).map_err(StoreError::backend)?;
        sqlx::query(sql::INSERT_HANDOFF)
            .bind(h.id.to_string())
            .bind(h.workflow.as_str())
            .bind(h.owner_group.as_str())
            .bind(h.impact.as_str())
            .bind(h.reason.as_str())
            .bind(h.state.as_str())
            .bind(h.assignee.as_deref())
            .bind(micros(h.created_at))
            .bind(micros(h.updated_at))
            .bind(doc)
            .execute(&mut **self.conn()?)
            .await
            .map_err(map_err)?;
        if let Some(idem) = idem {
            sqlx::query(sql::INSERT_IDEMPOTENCY)
                .bind(&idem.key)
                .bind(h.id.to_string())
                .bind(&idem.body_hash)
                .execute(&mut **self.conn()?)
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn update(
        &mut self,
        h: &Handoff,
        expected: LifecycleState,
        claim_token: Option<&str>,
        last_seq: i64,
    ) -> Result<bool, StoreError> {
        let doc = serde_json::to_string(h).map_err(StoreError::backend)?;
        let done = sqlx::query(
            "WITH target AS (SELECT id FROM handoffs WHERE id = $8 AND state = $9 FOR UPDATE SKIP LOCKED) \
             UPDATE handoffs h SET owner_group = $1, state = $2, assignee = $3, updated_us = $4, \
             claim_token = $5, last_seq = $6, doc = $7 FROM target WHERE h.id = target.id",
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
        .execute(&mut **self.conn()?)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn append(&mut self, e: &Event) -> Result<(), StoreError> {
        sqlx::query(sql::INSERT_EVENT)
            .bind(e.position)
            .bind(e.handoff_id.to_string())
            .bind(e.seq)
            .bind(e.kind.as_str())
            .bind(&e.actor)
            .bind(micros(e.at))
            .bind(e.data.to_string())
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .execute(&mut **self.conn()?)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn commit(&mut self, head: &ChainHead) -> Result<(), StoreError> {
        sqlx::query(sql::SET_CHAIN_HEAD)
            .bind(head.position)
            .bind(&head.hash)
            .execute(&mut **self.conn()?)
            .await
            .map_err(map_err)?;
        sqlx::query("COMMIT")
            .execute(&mut **self.conn()?)
            .await
            .map_err(map_err)?;
        self.conn = None;
        Ok(())
    }

    async fn rollback(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && let Err(err) = sqlx::query("ROLLBACK").execute(&mut *conn).await
        {
            tracing::warn!(error = %err, "rollback failed; dropping the connection");
            conn.close_on_drop();
        }
    }
}
