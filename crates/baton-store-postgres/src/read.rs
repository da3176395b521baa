//! The `Store` impl for PostgreSQL: reads on the pool, writes through the writer.

use async_trait::async_trait;
use baton_core::event::{from_micros, micros};
use baton_core::{Event, Handoff};
use baton_store::sql::{self, EventRow, Param, TokenRow};
use baton_store::{HandoffQuery, Page, Store, StoreError, TokenRecord, Writer};
use jiff::Timestamp;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::{PgStore, map_err};

fn event_row(row: &PgRow) -> Result<Event, StoreError> {
    let get = |e: sqlx::Error| map_err(e);
    Event::try_from(EventRow {
        position: row.try_get(0).map_err(get)?,
        handoff_id: row.try_get(1).map_err(get)?,
        seq: row.try_get(2).map_err(get)?,
        kind: row.try_get(3).map_err(get)?,
        actor: row.try_get(4).map_err(get)?,
        at_us: row.try_get(5).map_err(get)?,
        data: row.try_get(6).map_err(get)?,
        prev_hash: row.try_get(7).map_err(get)?,
        hash: row.try_get(8).map_err(get)?,
    })
}

fn token_row(row: &PgRow) -> Result<TokenRecord, StoreError> {
    let get = |e: sqlx::Error| map_err(e);
    TokenRecord::try_from(TokenRow {
        id: row.try_get(0).map_err(get)?,
        name: row.try_get(1).map_err(get)?,
        role: row.try_get(2).map_err(get)?,
        groups_json: row.try_get(3).map_err(get)?,
        workflows_json: row.try_get(4).map_err(get)?,
        hash: row.try_get(5).map_err(get)?,
        created_us: row.try_get(6).map_err(get)?,
        revoked_us: row.try_get(7).map_err(get)?,
    })
}

#[async_trait]
impl Store for PgStore {
    fn writer(&self) -> &Writer {
        &self.writer
    }

    async fn get_handoff(&self, id: Uuid) -> Result<Option<Handoff>, StoreError> {
        let row = sqlx::query(sql::HANDOFF_DOC)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| sql::handoff_from_doc(r.try_get(0).map_err(map_err)?))
            .transpose()
    }

    async fn handoff_events(&self, id: Uuid) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(sql::HANDOFF_EVENTS)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn list_handoffs(&self, query: &HandoffQuery) -> Result<Page, StoreError> {
        let (text, params) = sql::list_handoffs(query);
        let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
        for param in params {
            q = match param {
                Param::Text(s) => q.bind(s),
                Param::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        let items = rows
            .iter()
            .map(|r| sql::handoff_from_doc(r.try_get(0).map_err(map_err)?))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, query.limit))
    }

    async fn open_ages(&self) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let rows = sqlx::query(sql::OPEN_AGES)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0).map_err(map_err)?,
                    from_micros(r.try_get(1).map_err(map_err)?),
                ))
            })
            .collect()
    }

    async fn reason_counts(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = sqlx::query(sql::REASON_COUNTS)
            .bind(micros(from))
            .bind(micros(to))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                let n: i64 = r.try_get(1).map_err(map_err)?;
                Ok((r.try_get(0).map_err(map_err)?, n.max(0) as u64))
            })
            .collect()
    }

    async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query(sql::EVENTS_AFTER)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(event_row).collect()
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let [id, name, role, groups, workflows, hash] = sql::token_params(token);
        sqlx::query(sql::INSERT_TOKEN)
            .bind(id)
            .bind(name)
            .bind(role)
            .bind(groups)
            .bind(workflows)
            .bind(hash)
            .bind(micros(token.created_at))
            .bind(token.revoked_at.map(micros))
            .execute(&self.pool)
            .await
            .map_err(|e| match map_err(e) {
                StoreError::Duplicate(_) => {
                    StoreError::Duplicate(format!("token name {}", token.name))
                }
                other => other,
            })?;
        Ok(())
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(sql::TOKEN_BY_HASH)
            .bind(hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(token_row).transpose()
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(sql::LIST_TOKENS)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(token_row).collect()
    }

    async fn revoke_token(&self, name: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::REVOKE_TOKEN)
            .bind(micros(now))
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() > 0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(())
    }
}
