//! A fault-injecting [`WriteTx`] for tests: wraps a backend's real one and
//! fails chosen steps of a batch on demand, and can hold the writer at
//! `begin` so a test can line a whole burst up into one batch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use baton_core::{ChainHead, Event, Handoff, LifecycleState};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{Idempotency, Loaded, StoreError, WriteTx};

/// A step of a write batch where a fault can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Fails before the transaction starts.
    Begin,
    /// Starts the transaction (the connection holds it), then fails, as a
    /// failed chain-head lock does.
    LockHead,
    /// Fails a handoff read.
    Load,
    /// Fails an idempotency-key read.
    FindIdempotency,
    /// Buffers the insert, then fails.
    Insert,
    /// Runs the update in the transaction, then fails.
    Update,
    /// Buffers the event, then fails.
    Append,
    /// Sends the buffered rows, then fails.
    Flush,
    /// Arms or takes timers, then fails.
    Timers,
    /// Fails to open a command's savepoint (isolated retry only).
    Savepoint,
    /// Fails to release a command's savepoint (isolated retry only).
    Release,
    /// Fails to roll back to a savepoint (isolated retry only).
    RollbackToSavepoint,
    /// Fails before anything of the commit runs.
    Commit,
}

impl Step {
    /// Every step, in batch order.
    pub const ALL: [Step; 13] = [
        Step::Begin,
        Step::LockHead,
        Step::Load,
        Step::FindIdempotency,
        Step::Insert,
        Step::Update,
        Step::Append,
        Step::Flush,
        Step::Timers,
        Step::Savepoint,
        Step::Release,
        Step::RollbackToSavepoint,
        Step::Commit,
    ];
}

/// The control panel of a [`FaultyTx`], shared with the test.
#[derive(Clone)]
pub struct Faults {
    armed: Arc<Mutex<HashMap<Step, u32>>>,
    fired: Arc<Mutex<u32>>,
    open: watch::Sender<bool>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            armed: Arc::default(),
            fired: Arc::default(),
            open: watch::Sender::new(true),
        }
    }
}

impl Faults {
    /// Makes the next `times` calls of `step` fail.
    pub fn arm(&self, step: Step, times: u32) {
        *lock(&self.armed).entry(step).or_default() += times;
    }

    /// Disarms every step.
    pub fn clear(&self) {
        lock(&self.armed).clear();
    }

    /// How many faults fired so far.
    pub fn fired(&self) -> u32 {
        *lock(&self.fired)
    }

    /// Holds every `begin` until [`Faults::resume`].
    pub fn pause(&self) {
        self.open.send_replace(false);
    }

    /// Lets held and later `begin`s go on.
    pub fn resume(&self) {
        self.open.send_replace(true);
    }

    /// How many `begin`s are held.
    pub fn held(&self) -> usize {
        self.open.receiver_count()
    }

    fn check(&self, step: Step) -> Result<(), StoreError> {
        let mut armed = lock(&self.armed);
        match armed.get_mut(&step) {
            Some(left) if *left > 0 => {
                *left -= 1;
                *lock(&self.fired) += 1;
                Err(StoreError::backend(format!("injected fault at {step:?}")))
            }
            _ => Ok(()),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A [`WriteTx`] that delegates to `inner` except where [`Faults`] says to fail.
pub struct FaultyTx<W> {
    inner: W,
    faults: Faults,
}

impl<W: WriteTx> FaultyTx<W> {
    /// Wraps `inner`; the returned [`Faults`] arms it.
    pub fn new(inner: W) -> (Self, Faults) {
        let faults = Faults::default();
        (
            Self {
                inner,
                faults: faults.clone(),
            },
            faults,
        )
    }
}

#[async_trait]
impl<W: WriteTx> WriteTx for FaultyTx<W> {
    async fn begin(&mut self) -> Result<ChainHead, StoreError> {
        let mut open = self.faults.open.subscribe();
        let _ = open.wait_for(|open| *open).await;
        drop(open);
        self.faults.check(Step::Begin)?;
        let head = self.inner.begin().await?;
        self.faults.check(Step::LockHead)?;
        Ok(head)
    }

    async fn load(&mut self, id: Uuid) -> Result<Option<Loaded>, StoreError> {
        self.faults.check(Step::Load)?;
        self.inner.load(id).await
    }

    async fn find_idempotency(&mut self, key: &str) -> Result<Option<(Uuid, String)>, StoreError> {
        self.faults.check(Step::FindIdempotency)?;
        self.inner.find_idempotency(key).await
    }

    async fn insert(
        &mut self,
        handoff: &Handoff,
        idem: Option<&Idempotency>,
        last_seq: i64,
    ) -> Result<(), StoreError> {
        self.inner.insert(handoff, idem, last_seq).await?;
        self.faults.check(Step::Insert)
    }

    async fn update(
        &mut self,
        handoff: &Handoff,
        expected: LifecycleState,
        claim_token: Option<&str>,
        last_seq: i64,
    ) -> Result<bool, StoreError> {
        let updated = self
            .inner
            .update(handoff, expected, claim_token, last_seq)
            .await?;
        self.faults.check(Step::Update)?;
        Ok(updated)
    }

    async fn append(&mut self, event: &Event) -> Result<(), StoreError> {
        self.inner.append(event).await?;
        self.faults.check(Step::Append)
    }

    async fn flush(&mut self) -> Result<(), StoreError> {
        self.inner.flush().await?;
        self.faults.check(Step::Flush)
    }

    async fn arm_timers(
        &mut self,
        id: Uuid,
        timers: &[baton_core::timers::Timer],
        replace: bool,
    ) -> Result<(), StoreError> {
        self.inner.arm_timers(id, timers, replace).await?;
        self.faults.check(Step::Timers)
    }

    async fn enqueue(
        &mut self,
        id: Uuid,
        notifications: &[baton_core::notify::Notification],
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        self.inner.enqueue(id, notifications, now).await
    }

    async fn take_timer(&mut self, timer: &baton_core::timers::Timer) -> Result<bool, StoreError> {
        let taken = self.inner.take_timer(timer).await?;
        self.faults.check(Step::Timers)?;
        Ok(taken)
    }

    async fn savepoint(&mut self) -> Result<(), StoreError> {
        self.faults.check(Step::Savepoint)?;
        self.inner.savepoint().await
    }

    async fn release_savepoint(&mut self) -> Result<(), StoreError> {
        self.faults.check(Step::Release)?;
        self.inner.release_savepoint().await
    }

    async fn rollback_to_savepoint(&mut self) -> Result<(), StoreError> {
        self.faults.check(Step::RollbackToSavepoint)?;
        self.inner.rollback_to_savepoint().await
    }

    async fn commit(&mut self, head: &ChainHead) -> Result<(), StoreError> {
        self.faults.check(Step::Commit)?;
        self.inner.commit(head).await
    }

    async fn rollback(&mut self) {
        self.inner.rollback().await;
    }

    async fn activate_policy(
        &mut self,
        cmd: &crate::ActivatePolicy,
    ) -> Result<Option<(Option<String>, i64)>, StoreError> {
        self.inner.activate_policy(cmd).await
    }

    async fn mark_assigned(
        &mut self,
        reviewer: &str,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        self.inner.mark_assigned(reviewer, now).await
    }
}
