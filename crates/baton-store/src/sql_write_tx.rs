//! The write half of a SQL backend, written once for both dialects: the
//! writer's transaction over one pooled connection ([`WriteTx`](crate::WriteTx)),
//! with buffered multi-row inserts and a savepoint per command for the
//! writer's isolated retry. Invoked by [`sql_backend!`](crate::sql_backend),
//! whose expansion provides the imports and `map_err` it uses.

/// Expands to `pub struct $tx` (doc-hidden) implementing `WriteTx` over a
/// connection of a `sqlx::Pool<$db>`. Only [`sql_backend!`](crate::sql_backend) invokes it.
///
/// Invariants: `begin` keeps a connection only once the chain head is
/// locked (any failure before rolls back and frees it); `rollback` always
/// ends with no transaction and no connection held, closing the connection
/// if `ROLLBACK` itself fails; buffered rows are dropped by `rollback` and
/// `rollback_to_savepoint`, so nothing of an abandoned command is sent later.
#[doc(hidden)]
#[macro_export]
macro_rules! sql_write_tx {
    (
        write_tx: $tx:ident,
        database: $db:ty,
        begin: $begin:expr,
        lock_head: $lock_head:expr,
        update: $update:expr $(,)?
    ) => {
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
                for chunk in pending.deliveries.chunks(sql::insert_chunk(10)) {
                    let text = sql::multi_row_insert(sql::DELIVERY_INSERT_COLUMNS, 10, chunk.len());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
                    for (id, handoff_id, n, due_us) in chunk {
                        q = q
                            .bind(id.to_string())
                            .bind(n.channel.clone())
                            .bind(handoff_id.to_string())
                            .bind(n.event.clone())
                            .bind(n.role.clone())
                            .bind(n.payload.to_string())
                            .bind("pending")
                            .bind(*due_us)
                            .bind(*due_us)
                            .bind(*due_us);
                    }
                    q.execute(&mut **self.conn()?).await.map_err(map_err)?;
                }
                for chunk in pending.timers.chunks(sql::insert_chunk(4)) {
                    let text = sql::multi_row_insert(sql::TIMER_INSERT_COLUMNS, 4, chunk.len());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
                    for t in chunk {
                        q = q
                            .bind(t.handoff_id.to_string())
                            .bind(t.kind.as_str())
                            .bind(i64::from(t.level))
                            .bind(micros(t.due_at));
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

            async fn arm_timers(
                &mut self,
                id: Uuid,
                timers: &[baton_core::timers::Timer],
                replace: bool,
            ) -> Result<(), StoreError> {
                if replace {
                    self.pending.timers.retain(|t| t.handoff_id != id);
                    sqlx::query(sql::DELETE_TIMERS_OF)
                        .bind(id.to_string())
                        .execute(&mut **self.conn()?)
                        .await
                        .map_err(map_err)?;
                }
                self.pending.timers.extend_from_slice(timers);
                Ok(())
            }

            async fn enqueue(
                &mut self,
                id: Uuid,
                notifications: &[baton_core::notify::Notification],
                now: Timestamp,
            ) -> Result<(), StoreError> {
                let due = micros(now);
                for n in notifications {
                    self.pending.deliveries.push((Uuid::now_v7(), id, n.clone(), due));
                }
                Ok(())
            }

            async fn take_timer(&mut self, t: &baton_core::timers::Timer) -> Result<bool, StoreError> {
                self.send_pending().await?;
                let done = sqlx::query(sql::TAKE_TIMER)
                    .bind(t.handoff_id.to_string())
                    .bind(t.kind.as_str())
                    .bind(i64::from(t.level))
                    .bind(micros(t.due_at))
                    .execute(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn take_timers(
                &mut self,
                timers: &[baton_core::timers::Timer],
            ) -> Result<Vec<baton_core::timers::Timer>, StoreError> {
                self.send_pending().await?;
                let mut taken = Vec::with_capacity(timers.len());
                for chunk in timers.chunks(sql::insert_chunk(4)) {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::take_timers(chunk.len())));
                    for t in chunk {
                        q = q
                            .bind(t.handoff_id.to_string())
                            .bind(t.kind.as_str())
                            .bind(i64::from(t.level))
                            .bind(micros(t.due_at));
                    }
                    let rows = q.fetch_all(&mut **self.conn()?).await.map_err(map_err)?;
                    for row in &rows {
                        taken.push(timer_row(row)?);
                    }
                }
                Ok(taken)
            }

            async fn load_many(&mut self, ids: &[Uuid]) -> Result<Vec<Loaded>, StoreError> {
                let mut loaded = Vec::with_capacity(ids.len());
                let mut stored = Vec::with_capacity(ids.len());
                for id in ids {
                    match self.pending.load(*id) {
                        Some(found) => loaded.push(found),
                        None => stored.push(*id),
                    }
                }
                for chunk in stored.chunks(sql::INSERT_BINDS) {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::load_handoffs(chunk.len())));
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    let rows = q.fetch_all(&mut **self.conn()?).await.map_err(map_err)?;
                    for row in &rows {
                        let doc: String = row.try_get(1).map_err(map_err)?;
                        loaded.push(Loaded {
                            handoff: sql::handoff_from_doc(&doc)?,
                            claim_token: row.try_get(2).map_err(map_err)?,
                            last_seq: row.try_get(3).map_err(map_err)?,
                        });
                    }
                }
                Ok(loaded)
            }

            async fn update_docs(&mut self, rows: &[$crate::Update]) -> Result<usize, StoreError> {
                self.send_pending().await?;
                let mut updated = 0;
                for chunk in rows.chunks(sql::insert_chunk(sql::UPDATE_DOC_BINDS)) {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::update_docs(chunk.len())));
                    for row in chunk {
                        let h = &row.handoff;
                        let doc = serde_json::to_string(h).map_err(StoreError::backend)?;
                        q = q
                            .bind(h.id.to_string())
                            .bind(micros(h.updated_at))
                            .bind(row.last_seq)
                            .bind(doc)
                            .bind(row.expected.as_str());
                    }
                    let done = q.execute(&mut **self.conn()?).await.map_err(map_err)?;
                    updated += usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
                }
                Ok(updated)
            }

            async fn replace_timers(
                &mut self,
                ids: &[Uuid],
                timers: &[baton_core::timers::Timer],
            ) -> Result<(), StoreError> {
                // Everything in the table, so one read sees every armed timer.
                self.send_pending().await?;
                let mut armed = std::collections::HashSet::new();
                for chunk in ids.chunks(sql::INSERT_BINDS) {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::timers_of(chunk.len())));
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    let rows = q.fetch_all(&mut **self.conn()?).await.map_err(map_err)?;
                    for row in &rows {
                        armed.insert(timer_row(row)?);
                    }
                }
                let wanted: std::collections::HashSet<_> = timers.iter().copied().collect();
                let stale: Vec<_> = armed.iter().filter(|t| !wanted.contains(t)).copied().collect();
                for chunk in stale.chunks(sql::insert_chunk(3)) {
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql::disarm_timers(chunk.len())));
                    for t in chunk {
                        q = q
                            .bind(t.handoff_id.to_string())
                            .bind(t.kind.as_str())
                            .bind(i64::from(t.level));
                    }
                    q.execute(&mut **self.conn()?).await.map_err(map_err)?;
                }
                self.pending
                    .timers
                    .extend(timers.iter().filter(|t| !armed.contains(t)));
                Ok(())
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

            async fn mark_assigned(&mut self, reviewer: &str, now: Timestamp) -> Result<(), StoreError> {
                self.send_pending().await?;
                sqlx::query(sql::MARK_ASSIGNED)
                    .bind(reviewer)
                    .bind(micros(now))
                    .execute(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn activate_policy(
                &mut self,
                cmd: &$crate::ActivatePolicy,
            ) -> Result<Option<(Option<String>, i64)>, StoreError> {
                // Events of this batch must be in the table before the seq is read.
                self.send_pending().await?;
                let files = serde_json::to_string(&cmd.files).map_err(StoreError::backend)?;
                sqlx::query(sql::KEEP_POLICY_VERSION)
                    .bind(&cmd.version)
                    .bind(&cmd.text)
                    .bind(micros(cmd.now))
                    .bind(files)
                    .execute(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?;
                let previous: Option<String> = sqlx::query(sql::ACTIVE_POLICY_VERSION)
                    .fetch_optional(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?
                    .map(|r| r.try_get(0).map_err(map_err))
                    .transpose()?;
                if previous.as_deref() == Some(cmd.version.as_str())
                    || (cmd.only_if_none_active && previous.is_some())
                {
                    return Ok(None);
                }
                sqlx::query(sql::SET_ACTIVE_POLICY)
                    .bind(&cmd.version)
                    .bind(micros(cmd.now))
                    .bind(&cmd.actor)
                    .execute(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?;
                let last_seq: i64 = sqlx::query(sql::LAST_SEQ)
                    .bind(baton_core::SYSTEM_STREAM.to_string())
                    .fetch_one(&mut **self.conn()?)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)?;
                Ok(Some((previous, last_seq)))
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
