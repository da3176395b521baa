//! The group-commit writer: one task per store that commits every waiting write in one transaction.
//!
//! Requests queue on a channel. The task takes the first, then everything
//! else already waiting (up to [`MAX_BATCH`]), runs them in one transaction,
//! commits (one fsync), and only then answers each request.
//!
//! Invariants:
//! - **Ok means committed.** A request is answered `Ok` only after the
//!   `COMMIT` of the transaction holding its writes succeeded.
//! - **Refusals are logic, faults are the database.** A command's own logic
//!   may refuse it (lifecycle, not found, claim, idempotency, a lost race,
//!   a malformed import); it then wrote nothing and moved no chain head, and
//!   only its request gets the error. Any error out of a [`WriteTx`] call is
//!   a fault of the whole transaction, never a per-command answer.
//! - **Every error path rolls back.** After any fault the transaction is
//!   rolled back and the connection freed before anything else happens.
//! - **A fault is charged to the command that caused it.** After a fault
//!   the batch is retried once in isolation ([`batch::isolated`]): one
//!   transaction with a savepoint per command, so the failing command is
//!   rolled back alone and answered with its error while the rest commit.
//! - **An outage backs off.** If that retry cannot begin, keep its
//!   savepoints or commit, or the fast path's `COMMIT` itself fails (whose
//!   outcome is unknown, so it is never replayed), every request of the
//!   batch gets [`StoreError::Unavailable`] and the writer waits
//!   ([`BACKOFF_MIN`] doubling up to [`BACKOFF_MAX`], reset by a commit)
//!   before the next batch; while idle it probes the database with an empty
//!   transaction at that pace, so [`Writer::health`] recovers without traffic.
//!   A retry in which every command faulted (the database refuses all
//!   writes but still commits an empty transaction: read-only after a
//!   failover, a full disk) answers each request with its own error and
//!   backs off the same way.

mod batch;
mod commands;
mod tx;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    ActOn, Acted, ActivatePolicy, Activated, AssignHandoff, Assigned, CreateHandoff, Created,
    FireTimer, FireTimers, Fired, ImportHandoff, StoreError,
};
use batch::BatchFault;
use commands::{Command, Outcome};
pub use tx::{Loaded, Update, WriteTx};

/// Most requests committed in one transaction.
pub const MAX_BATCH: usize = 1024;

/// The first wait after an outage.
pub const BACKOFF_MIN: Duration = Duration::from_millis(50);

/// The longest wait between attempts during an outage.
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

struct Job {
    command: Command,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The handle to a store's writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    committed: broadcast::Sender<i64>,
    state: Arc<State>,
}

/// What [`Writer::health`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriterHealth {
    /// Idle, or running a batch for less than the given bound.
    Ready,
    /// A batch has been running for this long.
    Stuck(Duration),
    /// The last attempt to write failed; the writer is backing off.
    Failing,
    /// The writer task has ended.
    Stopped,
}

/// Shared between the task and its handles: lock-free, read by `/readyz`.
struct State {
    epoch: Instant,
    /// Milliseconds since `epoch` when the running batch began, plus one; 0 when idle.
    batch_since: AtomicU64,
    failing: AtomicBool,
}

impl State {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX - 1)
    }
}

impl Writer {
    /// Spawns the writer task over `tx` on the current tokio runtime.
    pub fn spawn(tx: impl WriteTx) -> Self {
        let (jobs, rx) = mpsc::channel(MAX_BATCH * 4);
        let (committed, _) = broadcast::channel(64);
        let state = Arc::new(State {
            epoch: Instant::now(),
            batch_since: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        });
        tokio::spawn(run(tx, rx, committed.clone(), state.clone()));
        Self {
            jobs,
            committed,
            state,
        }
    }

    /// Whether the writer is live: not stopped, not failing, and not inside
    /// one batch for `stuck_after` or longer. Two atomic loads; no IO.
    pub fn health(&self, stuck_after: Duration) -> WriterHealth {
        if self.jobs.is_closed() {
            return WriterHealth::Stopped;
        }
        if self.state.failing.load(Ordering::Relaxed) {
            return WriterHealth::Failing;
        }
        match self.state.batch_since.load(Ordering::Relaxed) {
            0 => WriterHealth::Ready,
            since => {
                let running = Duration::from_millis(self.state.now_ms().saturating_sub(since - 1));
                if running >= stuck_after {
                    WriterHealth::Stuck(running)
                } else {
                    WriterHealth::Ready
                }
            }
        }
    }

    /// How many requests wait for the writer task to take them.
    pub fn queued(&self) -> usize {
        self.jobs.max_capacity() - self.jobs.capacity()
    }

    /// Receives the log position after each commit (for live feeds).
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.committed.subscribe()
    }

    /// Creates a handoff; see [`crate::Store::create_handoff`].
    pub async fn create(&self, cmd: CreateHandoff) -> Result<Created, StoreError> {
        match self.submit(Command::Create(Box::new(cmd))).await? {
            Outcome::Created(c) => Ok(c),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Imports a handoff with its history; see [`crate::Store::import_handoff`].
    pub async fn import(&self, cmd: ImportHandoff) -> Result<Created, StoreError> {
        match self.submit(Command::Import(Box::new(cmd))).await? {
            Outcome::Created(c) => Ok(c),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Acts on a handoff; see [`crate::Store::act`].
    pub async fn act(&self, cmd: ActOn) -> Result<Acted, StoreError> {
        match self.submit(Command::Act(Box::new(cmd))).await? {
            Outcome::Acted(a) => Ok(a),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Activates a policy version; see [`crate::Store::activate_policy`].
    pub async fn activate_policy(&self, cmd: ActivatePolicy) -> Result<Activated, StoreError> {
        match self.submit(Command::ActivatePolicy(Box::new(cmd))).await? {
            Outcome::Activated(a) => Ok(a),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Assigns a handoff; see [`crate::Store::assign`].
    pub async fn assign(&self, cmd: AssignHandoff) -> Result<Assigned, StoreError> {
        match self.submit(Command::Assign(Box::new(cmd))).await? {
            Outcome::Assigned(a) => Ok(a),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    /// Fires a timer; see [`crate::Store::fire_timer`].
    pub async fn fire(&self, cmd: FireTimer) -> Result<Fired, StoreError> {
        let many = FireTimers {
            timers: vec![cmd.timer],
            policy: cmd.policy,
            now: cmd.now,
        };
        self.fire_many(many)
            .await?
            .pop()
            .ok_or_else(|| StoreError::backend("writer answered no firing"))
    }

    /// Fires timers in one command; see [`crate::Store::fire_timers`].
    pub async fn fire_many(&self, cmd: FireTimers) -> Result<Vec<Fired>, StoreError> {
        match self.submit(Command::Fire(Box::new(cmd))).await? {
            Outcome::Fired(f) => Ok(f),
            _ => Err(StoreError::backend("writer answered the wrong command")),
        }
    }

    async fn submit(&self, command: Command) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { command, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the writer task has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the writer task stopped before answering".into())
        })?
    }
}

async fn run(
    mut tx: impl WriteTx,
    mut rx: mpsc::Receiver<Job>,
    committed: broadcast::Sender<i64>,
    state: Arc<State>,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    let mut backoff = BACKOFF_MIN;
    loop {
        let first = if state.failing.load(Ordering::Relaxed) {
            match tokio::time::timeout(backoff, rx.recv()).await {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(_idle) => {
                    if probe(&mut tx).await {
                        state.failing.store(false, Ordering::Relaxed);
                        backoff = BACKOFF_MIN;
                    } else {
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                    continue;
                }
            }
        } else {
            match rx.recv().await {
                Some(job) => job,
                None => break,
            }
        };
        jobs.push(first);
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        state
            .batch_since
            .store(state.now_ms() + 1, Ordering::Relaxed);
        let result = attempt(&mut tx, &jobs).await;
        state.batch_since.store(0, Ordering::Relaxed);
        match result {
            Ok((outcomes, position, all_faulted)) => {
                // Health first, so a caller who got its answer sees it.
                state.failing.store(all_faulted, Ordering::Relaxed);
                if !all_faulted {
                    backoff = BACKOFF_MIN;
                }
                for (job, outcome) in jobs.drain(..).zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
                let _ = committed.send(position);
                if all_faulted {
                    // Every write of the batch failed on its own: the
                    // database refuses writes. Back off as in an outage.
                    tracing::error!(
                        wait_ms = backoff.as_millis() as u64,
                        "every write of the batch failed; backing off"
                    );
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
            Err(err) => {
                tracing::error!(error = %err, size = jobs.len(), wait_ms = backoff.as_millis() as u64,
                    "write batch failed; backing off");
                state.failing.store(true, Ordering::Relaxed);
                let answer = StoreError::Unavailable(err.to_string());
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(answer.clone()));
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}

/// The fast path, then on a fault one isolated retry. `Err` is an outage:
/// nothing of the batch committed. The `bool`: every command of the retry faulted.
async fn attempt(
    tx: &mut impl WriteTx,
    jobs: &[Job],
) -> Result<(batch::Outcomes, i64, bool), StoreError> {
    let commands: Vec<&Command> = jobs.iter().map(|j| &j.command).collect();
    match batch::fast(tx, &commands).await {
        Ok((outcomes, position)) => Ok((outcomes, position, false)),
        Err(BatchFault::Outage(err)) => Err(err),
        Err(BatchFault::Retry(err)) => {
            tracing::warn!(error = %err, size = jobs.len(), "batch failed; retrying with a savepoint per request");
            batch::isolated(tx, &commands).await
        }
    }
}

/// An empty transaction: true if the database lets the writer begin one.
async fn probe(tx: &mut impl WriteTx) -> bool {
    let began = tx.begin().await;
    tx.rollback().await;
    began.is_ok()
}
