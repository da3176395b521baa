//! The SQL side of a backend, written once for both dialects: the read
//! queries of [`Store`](crate::Store), the [`WriteTx`](crate::WriteTx) over a pool
//! connection, and buffered multi-row inserts. Each backend crate invokes
//! [`sql_backend!`](crate::sql_backend) with its sqlx types and the three
//! statements that differ (begin, chain-head lock, conditional update).
//!
//! A macro rather than generic code: sqlx's executor bounds for one function
//! generic over two databases take more lines than the function, and this
//! keeps `sqlx` out of this crate's dependencies.

/// Expands, in a backend crate that depends on `sqlx`, `async-trait`,
/// `baton-core`, `jiff` and `uuid`, to:
/// - `fn map_err(sqlx::Error) -> StoreError` (unique violations → `Duplicate`);
/// - `impl Store for $store` (which must have `pool: sqlx::Pool<$db>` and
///   `writer: Writer` fields);
/// - `pub struct $tx` (doc-hidden) implementing `WriteTx` over a pooled connection.
///
/// `begin` starts the write transaction, `lock_head` selects
/// `position, hash` of the chain head (locking it where the dialect can),
/// and `update` sets `owner_group $1, state $2, assignee $3, updated_us $4,
/// claim_token $5, last_seq $6, doc $7` of handoff `$8` if its state is `$9`.
#[macro_export]
macro_rules! sql_backend {
    (
        store: $store:ty,
        write_tx: $tx:ident,
        database: $db:ty,
        row: $row:ty,
        begin: $begin:expr,
        lock_head: $lock_head:expr,
        update: $update:expr $(,)?
    ) => {
        use baton_core::event::{from_micros, micros};
        use baton_core::{ChainHead, Event, Handoff, LifecycleState};
        use jiff::Timestamp;
        use sqlx::Row;
        use uuid::Uuid;
        use $crate::pending::PendingRows;
        use $crate::sql::{self, EventRow, Param, TokenRow};
        use $crate::{HandoffQuery, Idempotency, Loaded, Page, StoreError, TokenRecord, Writer};

        fn map_err(err: sqlx::Error) -> StoreError {
            if let sqlx::Error::Database(db) = &err
                && db.is_unique_violation()
            {
                return StoreError::Duplicate(db.message().to_owned());
            }
            StoreError::backend(err)
        }

        fn event_row(row: &$row) -> Result<Event, StoreError> {
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

        fn token_row(row: &$row) -> Result<TokenRecord, StoreError> {
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

        #[async_trait::async_trait]
        impl $crate::Store for $store {
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

            async fn open_totals(&self) -> Result<Vec<$crate::OpenTotal>, StoreError> {
                let rows = sqlx::query(sql::OPEN_TOTALS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let count: i64 = r.try_get(2).map_err(map_err)?;
                        Ok($crate::OpenTotal {
                            owner_group: r.try_get(0).map_err(map_err)?,
                            impact: r.try_get(1).map_err(map_err)?,
                            count: count.max(0) as u64,
                            oldest: from_micros(r.try_get(3).map_err(map_err)?),
                        })
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

            async fn save_policy_version(&self, version: &str, text: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(sql::SAVE_POLICY_VERSION)
                    .bind(version)
                    .bind(text)
                    .bind(micros(at))
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn policy_versions(&self) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
                let rows = sqlx::query(sql::POLICY_VERSIONS).fetch_all(&self.pool).await.map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get(0).map_err(map_err)?,
                            r.try_get(1).map_err(map_err)?,
                            from_micros(r.try_get(2).map_err(map_err)?),
                        ))
                    })
                    .collect()
            }

            async fn load_streaks(&self, conversation_id: &str) -> Result<Option<String>, StoreError> {
                let row = sqlx::query(sql::LOAD_STREAKS)
                    .bind(conversation_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(|r| r.try_get(0).map_err(map_err)).transpose()
            }

            async fn save_streaks(&self, conversation_id: &str, counts: &str, at: Timestamp) -> Result<(), StoreError> {
                sqlx::query(sql::SAVE_STREAKS)
                    .bind(conversation_id)
                    .bind(counts)
                    .bind(micros(at))
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn chain_head(&self) -> Result<ChainHead, StoreError> {
                let row = sqlx::query("SELECT position, hash FROM chain_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?;
                Ok(ChainHead {
                    position: row.try_get(0).map_err(map_err)?,
                    hash: row.try_get(1).map_err(map_err)?,
                })
            }
        }

        /// The writer's transaction over one pooled connection. Public (hidden)
        /// only so tests can wrap it in a fault-injecting [`WriteTx`](crate::WriteTx).
        #[doc(hidden)]
        pub struct $tx {
            pool: sqlx::Pool<$db>,
            conn: Option<sqlx::pool::PoolConnection<$db>>,
            pending: PendingRows,
        }

        impl $tx {
            /// A writer transaction that takes its connection from `pool`.
            pub fn new(pool: sqlx::Pool<$db>) -> Self {
                Self {
                    pool,
                    conn: None,
                    pending: PendingRows::default(),
                }
            }

            /// Sends the buffered rows as multi-row inserts. The buffer is
            /// emptied first: after a failure the writer rolls back (to the
            /// savepoint or the whole transaction), which undoes any chunk sent.
            async fn send_pending(&mut self) -> Result<(), StoreError> {
                if self.pending.is_empty() {
                    return Ok(());
                }
                let pending = std::mem::take(&mut self.pending);
                for chunk in pending.handoffs.chunks(sql::insert_chunk(11)) {
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
                            .bind(row.last_seq)
                            .bind(row.doc.clone());
                    }
                    q.execute(&mut **self.conn()?).await.map_err(map_err)?;
                }
                for chunk in pending.idempotency.chunks(sql::insert_chunk(3)) {
                    let text = sql::multi_row_insert(sql::IDEMPOTENCY_INSERT_COLUMNS, 3, chunk.len());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
                    for (key, id, hash) in chunk {
                        q = q.bind(key.clone()).bind(id.to_string()).bind(hash.clone());
                    }
                    q.execute(&mut **self.conn()?).await.map_err(map_err)?;
                }
                for chunk in pending.events.chunks(sql::insert_chunk(9)) {
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
                    q.execute(&mut **self.conn()?).await.map_err(map_err)?;
                }
                Ok(())
            }

            fn conn(&mut self) -> Result<&mut sqlx::pool::PoolConnection<$db>, StoreError> {
                self.conn
                    .as_mut()
                    .ok_or_else(|| StoreError::backend("no transaction in progress"))
            }
        }

        #[async_trait::async_trait]
        impl $crate::WriteTx for $tx {
            async fn begin(&mut self) -> Result<ChainHead, StoreError> {
                // A transaction left open by a caller that did not roll back.
                <Self as $crate::WriteTx>::rollback(self).await;
                let mut conn = self.pool.acquire().await.map_err(map_err)?;
                if let Err(err) = sqlx::query($begin).execute(&mut *conn).await {
                    conn.close_on_drop();
                    return Err(map_err(err));
                }
                // Keep the connection only once the head is locked: on any
                // failure here it is rolled back and freed.
                match sqlx::query($lock_head).fetch_one(&mut *conn).await {
                    Ok(row) => {
                        let head = (row.try_get(0), row.try_get(1));
                        self.conn = Some(conn);
                        match head {
                            (Ok(position), Ok(hash)) => Ok(ChainHead { position, hash }),
                            (Err(err), _) | (_, Err(err)) => {
                                <Self as $crate::WriteTx>::rollback(self).await;
                                Err(map_err(err))
                            }
                        }
                    }
                    Err(err) => {
                        self.conn = Some(conn);
                        <Self as $crate::WriteTx>::rollback(self).await;
                        Err(map_err(err))
                    }
                }
            }

            async fn load(&mut self, id: Uuid) -> Result<Option<Loaded>, StoreError> {
                if let Some(loaded) = self.pending.load(id) {
                    return Ok(Some(loaded));
                }
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
                if let Some(found) = self.pending.find_idempotency(key) {
                    return Ok(Some(found));
                }
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

            async fn insert(&mut self, h: &Handoff, idem: Option<&Idempotency>, last_seq: i64) -> Result<(), StoreError> {
                self.pending.insert(h, idem, last_seq)
            }

            async fn update(
                &mut self,
                h: &Handoff,
                expected: LifecycleState,
                claim_token: Option<&str>,
                last_seq: i64,
            ) -> Result<bool, StoreError> {
                self.send_pending().await?;
                let doc = serde_json::to_string(h).map_err(StoreError::backend)?;
                let done = sqlx::query($update)
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
                self.pending.events.push(e.clone());
                Ok(())
            }

            async fn flush(&mut self) -> Result<(), StoreError> {
                self.send_pending().await
            }

            async fn savepoint(&mut self) -> Result<(), StoreError> {
                sqlx::query("SAVEPOINT baton_command")
                    .execute(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn release_savepoint(&mut self) -> Result<(), StoreError> {
                self.send_pending().await?;
                sqlx::query("RELEASE SAVEPOINT baton_command")
                    .execute(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
                self.pending = PendingRows::default();
                for statement in ["ROLLBACK TO SAVEPOINT baton_command", "RELEASE SAVEPOINT baton_command"] {
                    sqlx::query(statement)
                        .execute(&mut **self.conn()?)
                        .await
                        .map_err(map_err)?;
                }
                Ok(())
            }

            async fn commit(&mut self, head: &ChainHead) -> Result<(), StoreError> {
                self.send_pending().await?;
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
                self.pending = PendingRows::default();
                if let Some(mut conn) = self.conn.take()
                    && let Err(err) = sqlx::query("ROLLBACK").execute(&mut *conn).await
                {
                    tracing::warn!(error = %err, "rollback failed; dropping the connection");
                    conn.close_on_drop();
                }
            }
        }
    };
}
