//! The SQL side of a backend, written once for both dialects: the read
//! queries of [`Store`](crate::Store), and (through `sql_write_tx!` in
//! `sql_write_tx.rs`) the [`WriteTx`](crate::WriteTx) over a pool connection
//! with buffered multi-row inserts. Each backend crate invokes
//! [`sql_backend!`](crate::sql_backend) with its sqlx types and the three
//! statements that differ (begin, chain-head lock, conditional update).
//!
//! A macro rather than generic code: sqlx's executor bounds for one function
//! generic over two databases take more lines than the function, and this
//! keeps `sqlx` out of this crate's dependencies.

/// Expands, in a backend crate that depends on `sqlx`, `async-trait`,
/// `baton-core`, `jiff` and `uuid`, to:
/// - `fn map_err(sqlx::Error) -> StoreError` (unique violations → `Duplicate`);
/// - `impl Store for $store` (which must have `pool: sqlx::Pool<$db>`,
///   `writer: Writer` and `streaks: sqlx::Pool<$db>` fields, the last for
///   evaluate's streak transactions);
/// - `pub struct $tx` (doc-hidden) implementing `WriteTx` over a pooled
///   connection, written by `sql_write_tx!`.
///
/// `begin` starts the write transaction, `lock_head` selects
/// `position, hash` of the chain head (locking it where the dialect can),
/// and `update` sets `owner_group $1, state $2, assignee $3, updated_us $4,
/// claim_token $5, last_seq $6, doc $7` of handoff `$8` if its state is `$9`.
/// `claim_timers` answers `handoff_id, kind, level, due_us` of up to `$3`
/// timers due at `$1` µs, leasing them until `$2` µs where the dialect can.
/// `claim_deliveries` answers [`sql::DELIVERY_COLUMNS`] of up to `$3`
/// pending deliveries due at `$1` µs, leasing them until `$2` µs where the
/// dialect can. `extra` (optional) holds more `Store` methods of this backend, e.g.
/// PostgreSQL's policy `NOTIFY`/`LISTEN`.
#[macro_export]
macro_rules! sql_backend {
    (
        store: $store:ty,
        write_tx: $tx:ident,
        database: $db:ty,
        row: $row:ty,
        begin: $begin:expr,
        lock_head: $lock_head:expr,
        update: $update:expr,
        claim_timers: $claim_timers:expr,
        claim_deliveries: $claim_deliveries:expr
        $(, extra: { $($extra:tt)* })? $(,)?
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

        }

        #[async_trait::async_trait]
        impl $crate::TokenStore for $store {
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

        }

        #[async_trait::async_trait]
        impl $crate::PolicyStore for $store {
            async fn policy_versions(
                &self,
            ) -> Result<Vec<(String, String, Timestamp)>, StoreError> {
                let rows = sqlx::query(sql::POLICY_VERSIONS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
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

            async fn load_streaks(
                &self,
                conversation_id: &str,
            ) -> Result<Option<String>, StoreError> {
                let row = sqlx::query(sql::LOAD_STREAKS)
                    .bind(conversation_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.map(|r| r.try_get(0).map_err(map_err)).transpose()
            }


            async fn active_policy(&self) -> Result<Option<$crate::StoredPolicy>, StoreError> {
                let row = sqlx::query(sql::ACTIVE_POLICY)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                let Some(r) = row else { return Ok(None) };
                let files: String = r.try_get(2).map_err(map_err)?;
                Ok(Some($crate::StoredPolicy {
                    version: r.try_get(0).map_err(map_err)?,
                    text: r.try_get(1).map_err(map_err)?,
                    files: serde_json::from_str(&files).map_err(StoreError::backend)?,
                    activated_at: from_micros(r.try_get(3).map_err(map_err)?),
                    activated_by: r.try_get(4).map_err(map_err)?,
                }))
            }

            async fn evaluate_streaks(
                &self,
                conversation_id: &str,
                at: Timestamp,
                step: &mut (dyn for<'c> FnMut(Option<&'c str>) -> $crate::StreakStep + Send),
            ) -> Result<bool, StoreError> {
                // A sqlx transaction: if this future is dropped half way (a
                // client gone), the rollback still runs before the connection
                // is used again.
                let mut tx = self.streaks.begin_with($begin).await.map_err(map_err)?;
                let row = sqlx::query(sql::LOCK_STREAKS)
                    .bind(conversation_id)
                    .bind(micros(at))
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_err)?;
                let counts: String = row.try_get(0).map_err(map_err)?;
                let $crate::StreakStep::Save(next) = step((!counts.is_empty()).then_some(counts.as_str())) else {
                    tx.rollback().await.map_err(map_err)?;
                    return Ok(false);
                };
                sqlx::query(sql::SAVE_STREAKS)
                    .bind(conversation_id)
                    .bind(next)
                    .bind(micros(at))
                    .execute(&mut *tx)
                    .await
                    .map_err(map_err)?;
                tx.commit().await.map_err(map_err)?;
                Ok(true)
            }

            $($($extra)*)?
        }

        fn timer_row(row: &$row) -> Result<baton_core::timers::Timer, StoreError> {
            let id: String = row.try_get(0).map_err(map_err)?;
            let kind: String = row.try_get(1).map_err(map_err)?;
            let level: i64 = row.try_get(2).map_err(map_err)?;
            let due_us: i64 = row.try_get(3).map_err(map_err)?;
            Ok(baton_core::timers::Timer {
                handoff_id: id.parse().map_err(StoreError::backend)?,
                kind: baton_core::timers::TimerKind::parse(&kind)
                    .ok_or_else(|| StoreError::backend(format!("unknown timer kind {kind:?}")))?,
                level: u32::try_from(level).map_err(StoreError::backend)?,
                due_at: from_micros(due_us),
            })
        }

        #[async_trait::async_trait]
        impl $crate::TimerStore for $store {
            async fn claim_due_timers(
                &self,
                now: Timestamp,
                lease_until: Timestamp,
                limit: u32,
            ) -> Result<Vec<baton_core::timers::Timer>, StoreError> {
                let rows = sqlx::query($claim_timers)
                    .bind(micros(now))
                    .bind(micros(lease_until))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                let mut timers = rows.iter().map(timer_row).collect::<Result<Vec<_>, _>>()?;
                timers.sort_by_key(|t| (t.due_at, t.handoff_id, t.kind, t.level));
                Ok(timers)
            }

            async fn handoff_timers(&self, id: Uuid) -> Result<Vec<baton_core::timers::Timer>, StoreError> {
                let rows = sqlx::query(sql::HANDOFF_TIMERS)
                    .bind(id.to_string())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(timer_row).collect()
            }

            async fn next_timer_due(&self) -> Result<Option<Timestamp>, StoreError> {
                let due: Option<i64> = sqlx::query(sql::NEXT_TIMER_DUE)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)?;
                Ok(due.map(from_micros))
            }

            async fn seed_timers(&self, timers: &[baton_core::timers::Timer]) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(map_err)?;
                for chunk in timers.chunks(sql::insert_chunk(4)) {
                    let text = sql::multi_row_insert(sql::TIMER_INSERT_COLUMNS, 4, chunk.len());
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(text));
                    for t in chunk {
                        q = q
                            .bind(t.handoff_id.to_string())
                            .bind(t.kind.as_str())
                            .bind(i64::from(t.level))
                            .bind(micros(t.due_at));
                    }
                    q.execute(&mut *tx).await.map_err(map_err)?;
                }
                tx.commit().await.map_err(map_err)
            }

            async fn count_timers(&self) -> Result<u64, StoreError> {
                let n: i64 = sqlx::query(sql::COUNT_TIMERS)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(map_err)?
                    .try_get(0)
                    .map_err(map_err)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }

        fn delivery_row(row: &$row) -> Result<$crate::Delivery, StoreError> {
            let id: String = row.try_get(0).map_err(map_err)?;
            let handoff_id: String = row.try_get(2).map_err(map_err)?;
            let payload: String = row.try_get(5).map_err(map_err)?;
            let state: String = row.try_get(6).map_err(map_err)?;
            let attempts: i64 = row.try_get(7).map_err(map_err)?;
            Ok($crate::Delivery {
                id: id.parse().map_err(StoreError::backend)?,
                channel: row.try_get(1).map_err(map_err)?,
                handoff_id: handoff_id.parse().map_err(StoreError::backend)?,
                event: row.try_get(3).map_err(map_err)?,
                role: row.try_get(4).map_err(map_err)?,
                payload: serde_json::from_str(&payload).map_err(StoreError::backend)?,
                state: $crate::DeliveryState::parse(&state)
                    .ok_or_else(|| StoreError::backend(format!("unknown delivery state {state:?}")))?,
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                next_at: from_micros(row.try_get(8).map_err(map_err)?),
                last_error: row.try_get(9).map_err(map_err)?,
                created_at: from_micros(row.try_get(10).map_err(map_err)?),
                updated_at: from_micros(row.try_get(11).map_err(map_err)?),
            })
        }

        #[async_trait::async_trait]
        impl $crate::DeliveryStore for $store {
            async fn claim_due_deliveries(
                &self,
                now: Timestamp,
                lease_until: Timestamp,
                limit: u32,
            ) -> Result<Vec<$crate::Delivery>, StoreError> {
                let rows = sqlx::query($claim_deliveries)
                    .bind(micros(now))
                    .bind(micros(lease_until))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                let mut found = rows.iter().map(delivery_row).collect::<Result<Vec<_>, _>>()?;
                found.sort_by_key(|d| (d.next_at, d.id));
                Ok(found)
            }

            async fn record_attempt(&self, id: Uuid, r: &$crate::AttemptRecord) -> Result<(), StoreError> {
                // The streaks pool may write (on SQLite it is the writer's connection).
                sqlx::query(sql::RECORD_ATTEMPT)
                    .bind(id.to_string())
                    .bind(r.state.as_str())
                    .bind(i64::from(r.attempts))
                    .bind(micros(r.next_at))
                    .bind(r.error.clone())
                    .bind(micros(r.now))
                    .execute(&self.streaks)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn list_deliveries(
                &self,
                state: Option<$crate::DeliveryState>,
                limit: u32,
            ) -> Result<Vec<$crate::Delivery>, StoreError> {
                let text = format!(
                    "SELECT {} FROM deliveries WHERE ($1 = '' OR state = $1) ORDER BY created_us DESC, id DESC LIMIT $2",
                    sql::DELIVERY_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(text))
                    .bind(state.map_or("", |s| s.as_str()))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter().map(delivery_row).collect()
            }

            async fn get_delivery(&self, id: Uuid) -> Result<Option<$crate::Delivery>, StoreError> {
                let text = format!("SELECT {} FROM deliveries WHERE id = $1", sql::DELIVERY_COLUMNS);
                let row = sqlx::query(sqlx::AssertSqlSafe(text))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                row.as_ref().map(delivery_row).transpose()
            }

            async fn redeliver(&self, id: Uuid, now: Timestamp) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REDELIVER)
                    .bind(id.to_string())
                    .bind(micros(now))
                    .execute(&self.streaks)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn disable_channel(&self, channel: &str, reason: &str, now: Timestamp) -> Result<(), StoreError> {
                sqlx::query(sql::DISABLE_CHANNEL)
                    .bind(channel)
                    .bind(micros(now))
                    .bind(reason)
                    .execute(&self.streaks)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn disabled_channels(&self) -> Result<Vec<(String, Timestamp, String)>, StoreError> {
                let rows = sqlx::query(sql::DISABLED_CHANNELS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        Ok((
                            r.try_get(0).map_err(map_err)?,
                            from_micros(r.try_get(1).map_err(map_err)?),
                            r.try_get(2).map_err(map_err)?,
                        ))
                    })
                    .collect()
            }

            async fn enable_channel(&self, channel: &str) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::ENABLE_CHANNEL)
                    .bind(channel)
                    .execute(&self.streaks)
                    .await
                    .map_err(map_err)?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait::async_trait]
        impl $crate::AssignmentStore for $store {
            async fn set_availability(&self, reviewer: &str, available: bool, now: Timestamp) -> Result<(), StoreError> {
                // The streaks pool may write (on SQLite it is the writer's connection).
                sqlx::query(sql::SET_AVAILABILITY)
                    .bind(reviewer)
                    .bind(i64::from(available))
                    .bind(micros(now))
                    .execute(&self.streaks)
                    .await
                    .map_err(map_err)?;
                Ok(())
            }

            async fn is_available(&self, reviewer: &str) -> Result<bool, StoreError> {
                let row = sqlx::query(sql::IS_AVAILABLE)
                    .bind(reviewer)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_err)?;
                let Some(row) = row else { return Ok(false) };
                let available: i64 = row.try_get(0).map_err(map_err)?;
                Ok(available == 1)
            }

            async fn available_reviewers(&self) -> Result<Vec<(String, Option<Timestamp>)>, StoreError> {
                let rows = sqlx::query(sql::AVAILABLE_REVIEWERS)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let last: Option<i64> = r.try_get(1).map_err(map_err)?;
                        Ok((r.try_get(0).map_err(map_err)?, last.map(from_micros)))
                    })
                    .collect()
            }

            async fn reviewer_loads(&self) -> Result<Vec<(String, u64)>, StoreError> {
                let rows = sqlx::query(sql::REVIEWER_LOADS)
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

            async fn unassigned_pending(&self, group: &str, limit: u32) -> Result<Vec<Uuid>, StoreError> {
                let rows = sqlx::query(sql::UNASSIGNED_PENDING)
                    .bind(group)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_err)?;
                rows.iter()
                    .map(|r| {
                        let id: String = r.try_get(0).map_err(map_err)?;
                        id.parse().map_err(StoreError::backend)
                    })
                    .collect()
            }
        }

        $crate::sql_write_tx! {
            write_tx: $tx,
            database: $db,
            begin: $begin,
            lock_head: $lock_head,
            update: $update,
        }
    };
}
