//! `WriteTx`: the writes a backend performs inside the writer's transaction.

use async_trait::async_trait;
use baton_core::timers::Timer;
use baton_core::{ChainHead, Event, Handoff, LifecycleState};
use uuid::Uuid;

use crate::{ActivatePolicy, Idempotency, StoreError};

/// A handoff row as the writer needs it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The handoff.
    pub handoff: Handoff,
    /// The current claim token, while claimed.
    pub claim_token: Option<String>,
    /// The handoff's last event sequence number.
    pub last_seq: i64,
}

/// One row of [`WriteTx::update_docs`]: as the arguments of [`WriteTx::update`].
#[derive(Debug, Clone)]
pub struct Update {
    /// The handoff after the change.
    pub handoff: Handoff,
    /// The state it must still be in.
    pub expected: LifecycleState,
    /// The claim token to store.
    pub claim_token: Option<String>,
    /// Its last event's sequence number after the change.
    pub last_seq: i64,
}

/// The writes a backend performs inside one transaction. Implemented by each
/// backend over a connection it owns; only the writer task calls it.
///
/// Contract the writer relies on:
/// - every method but [`WriteTx::rollback`] may fail; any error means the
///   current transaction (or savepoint) can no longer be trusted, and the
///   writer answers it by [`WriteTx::rollback_to_savepoint`] or
///   [`WriteTx::rollback`], never by going on to commit;
/// - [`WriteTx::rollback`] always leaves no transaction open and the
///   connection back in the pool (or closed), whatever state it was in,
///   including after a failed [`WriteTx::begin`] or [`WriteTx::commit`];
/// - inserts and appends may be buffered until [`WriteTx::flush`] (or the
///   next update or commit), and reads inside the transaction see them.
#[async_trait]
pub trait WriteTx: Send + 'static {
    /// Starts a write transaction and returns the chain head, locking it
    /// against other writers (other instances on PostgreSQL).
    async fn begin(&mut self) -> Result<ChainHead, StoreError>;
    /// Reads one handoff inside the transaction.
    async fn load(&mut self, id: Uuid) -> Result<Option<Loaded>, StoreError>;
    /// The handoff id and body hash stored under an idempotency key.
    async fn find_idempotency(&mut self, key: &str) -> Result<Option<(Uuid, String)>, StoreError>;
    /// Inserts a new handoff (and its idempotency key) whose last event is `last_seq`.
    async fn insert(
        &mut self,
        handoff: &Handoff,
        idem: Option<&Idempotency>,
        last_seq: i64,
    ) -> Result<(), StoreError>;
    /// Updates a handoff if it is still in state `expected`; false if not.
    async fn update(
        &mut self,
        handoff: &Handoff,
        expected: LifecycleState,
        claim_token: Option<&str>,
        last_seq: i64,
    ) -> Result<bool, StoreError>;
    /// Appends an event.
    async fn append(&mut self, event: &Event) -> Result<(), StoreError>;
    /// Arms `timers` for handoff `id`; with `replace`, first disarms every
    /// timer it had (armed in this transaction or before).
    async fn arm_timers(
        &mut self,
        id: Uuid,
        timers: &[Timer],
        replace: bool,
    ) -> Result<(), StoreError>;
    /// Writes one outbox delivery per notification of handoff `id`, due at `now`.
    async fn enqueue(
        &mut self,
        id: Uuid,
        notifications: &[baton_core::notify::Notification],
        now: jiff::Timestamp,
    ) -> Result<(), StoreError>;
    /// Takes (deletes) `timer` if it is still armed exactly as given; false
    /// if it fired, moved or was disarmed meanwhile.
    async fn take_timer(&mut self, timer: &Timer) -> Result<bool, StoreError>;
    /// Takes (deletes) each of `timers` still armed exactly as given, and
    /// answers those taken. Backends take them in a few statements; this
    /// default one by one.
    async fn take_timers(&mut self, timers: &[Timer]) -> Result<Vec<Timer>, StoreError> {
        let mut taken = Vec::new();
        for timer in timers {
            if self.take_timer(timer).await? {
                taken.push(*timer);
            }
        }
        Ok(taken)
    }
    /// Reads handoffs inside the transaction; those not found are left out.
    async fn load_many(&mut self, ids: &[Uuid]) -> Result<Vec<Loaded>, StoreError> {
        let mut loaded = Vec::new();
        for id in ids {
            loaded.extend(self.load(*id).await?);
        }
        Ok(loaded)
    }
    /// For changes that leave a handoff's state, owner group, assignee and
    /// claim token as they were (a timer's firing): stores each handoff's
    /// document, update time and last seq if it is still in its expected
    /// state; answers how many were. Backends write only those columns in
    /// a few statements; this default is [`WriteTx::update`] row by row.
    async fn update_docs(&mut self, rows: &[Update]) -> Result<usize, StoreError> {
        let mut updated = 0;
        for row in rows {
            let done = self
                .update(
                    &row.handoff,
                    row.expected,
                    row.claim_token.as_deref(),
                    row.last_seq,
                )
                .await?;
            updated += usize::from(done);
        }
        Ok(updated)
    }
    /// Replaces the armed timers of each handoff of `ids` with those of
    /// `timers` that are its own, as [`WriteTx::arm_timers`] with `replace`.
    /// Backends write only the difference.
    async fn replace_timers(&mut self, ids: &[Uuid], timers: &[Timer]) -> Result<(), StoreError> {
        for id in ids {
            let own: Vec<Timer> = timers
                .iter()
                .filter(|t| t.handoff_id == *id)
                .copied()
                .collect();
            self.arm_timers(*id, &own, true).await?;
        }
        Ok(())
    }
    /// Sends every buffered insert and append to the database.
    async fn flush(&mut self) -> Result<(), StoreError>;
    /// Opens a savepoint for one command (nothing is buffered at this point).
    async fn savepoint(&mut self) -> Result<(), StoreError>;
    /// Keeps the command's writes: flushes them and releases the savepoint.
    async fn release_savepoint(&mut self) -> Result<(), StoreError>;
    /// Undoes the command's writes, buffered or sent, and drops the savepoint.
    async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError>;
    /// Stores the new chain head and commits durably.
    async fn commit(&mut self, head: &ChainHead) -> Result<(), StoreError>;
    /// Abandons the transaction, if any, and frees the connection.
    async fn rollback(&mut self);
    /// Records that the assigner gave `reviewer` an item at `now` (round
    /// robin's turn).
    async fn mark_assigned(
        &mut self,
        _reviewer: &str,
        _now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        Err(StoreError::backend("this store keeps no availability"))
    }
    /// Keeps a policy version and makes it the active one. `None` when it
    /// already was (nothing written); else the version active before and
    /// the last seq of the system stream.
    async fn activate_policy(
        &mut self,
        _cmd: &ActivatePolicy,
    ) -> Result<Option<(Option<String>, i64)>, StoreError> {
        Err(StoreError::backend("this store keeps no policies"))
    }
}
