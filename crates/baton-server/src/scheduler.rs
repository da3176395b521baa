//! The scheduler: fires due timers (SLA reminders and breaches, escalation
//! levels, assignment expiries) through the store's writer, exactly once
//! across restarts and instances, then runs the [`Assigner`].
//!
//! Each round claims up to [`SchedulerConfig::batch`] due timers with a
//! lease (so other instances on PostgreSQL pass over them) and fires them
//! all in one writer command ([`Store::fire_timers`]): a few statements and
//! one commit for the round. A timer
//! fires at most once because the transaction that fires it deletes its
//! row; it fires at least once because a lease runs out: a timer claimed
//! by an instance that died is claimed again `lease` later.

use std::sync::Arc;
use std::time::Duration;

use baton_core::policy::Policy;
use baton_core::timers::Timer;
use baton_store::{FireTimer, FireTimers, Fired, Store, StoreError};
use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use tokio::task::JoinHandle;

use crate::policy::PolicyHandle;
use crate::{AppState, Assigner, Clock};

/// How the scheduler paces itself.
#[derive(Debug, Clone, Copy)]
pub struct SchedulerConfig {
    /// Longest sleep between two looks for due timers; also the most a
    /// timer armed by another instance waits past its due time.
    pub tick: Duration,
    /// How long claimed timers stay reserved for this instance: after a
    /// crash, the longest they wait before another instance fires them.
    pub lease: Duration,
    /// Most timers claimed and fired per round.
    pub batch: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            tick: Duration::from_millis(200),
            lease: Duration::from_secs(5),
            batch: 2_000,
        }
    }
}

/// What one [`Scheduler::run_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Timers claimed.
    pub claimed: usize,
    /// Events appended (`sla_warned`, `sla_breached`).
    pub fired: usize,
    /// Timers taken that no longer applied (the clock stopped or moved):
    /// disarmed or re-armed, no event.
    pub stale: usize,
    /// Timers another instance fired first: nothing written.
    pub lost: usize,
    /// Firings the store refused or failed; their timers stay armed and
    /// are claimed again once their lease runs out.
    pub failed: usize,
    /// The most a firing was late: its time minus the timer's due time.
    pub max_late: SignedDuration,
}

/// Fires due timers; see the module docs.
pub struct Scheduler {
    store: Arc<dyn Store>,
    policy: Arc<PolicyHandle>,
    config: SchedulerConfig,
    assigner: Assigner,
}

impl Scheduler {
    /// A scheduler over `state`'s store and policy.
    pub fn new(state: &AppState, config: SchedulerConfig) -> Self {
        Self {
            store: state.store.clone(),
            policy: state.policy.clone(),
            config,
            assigner: Assigner::new(state),
        }
    }

    /// Fires every timer due at `now`, round after round until none is
    /// left, each firing recorded at `now`. Tests drive it with a fake
    /// clock; the loop of [`spawn_scheduler`] calls it with the real one.
    ///
    /// # Errors
    /// The store's, when it cannot claim timers.
    pub async fn run_due(&self, now: Timestamp) -> Result<RunReport, StoreError> {
        let mut report = RunReport::default();
        let lease = SignedDuration::try_from(self.config.lease).unwrap_or(SignedDuration::ZERO);
        loop {
            let due = self
                .store
                .claim_due_timers(
                    now,
                    now.saturating_add(lease).unwrap_or(now),
                    self.config.batch,
                )
                .await?;
            if due.is_empty() {
                return Ok(report);
            }
            let policy = self.policy.current().policy.clone();
            let results = self.fire(&due, &policy, now).await;
            report.claimed += due.len();
            let mut failed = false;
            for (timer, result) in due.iter().zip(results) {
                match result {
                    Ok(fired) if !fired.taken => report.lost += 1,
                    Ok(fired) if fired.events.is_empty() => report.stale += 1,
                    Ok(fired) => {
                        report.fired += fired.events.len();
                        report.max_late = report.max_late.max(now.duration_since(timer.due_at));
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, handoff = %timer.handoff_id, kind = timer.kind.as_str(), "cannot fire a timer");
                        report.failed += 1;
                        failed = true;
                    }
                }
            }
            // A failed timer is still due: stop here rather than spin on it.
            if failed || due.len() < self.config.batch as usize {
                return Ok(report);
            }
        }
    }

    /// Fires `due` in one writer command; if that fails, each timer on its
    /// own, so a timer the store cannot fire holds back no other.
    async fn fire(
        &self,
        due: &[Timer],
        policy: &Arc<Policy>,
        now: Timestamp,
    ) -> Vec<Result<Fired, StoreError>> {
        let all = FireTimers {
            timers: due.to_vec(),
            policy: policy.clone(),
            now,
        };
        match self.store.fire_timers(all).await {
            Ok(fired) if fired.len() == due.len() => return fired.into_iter().map(Ok).collect(),
            Ok(_) => {
                tracing::warn!("the store answered another number of firings; firing one by one")
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot fire the due timers at once; firing one by one")
            }
        }
        let firings = due.iter().map(|timer| {
            self.store.fire_timer(FireTimer {
                timer: *timer,
                policy: policy.clone(),
                now,
            })
        });
        join_all(firings).await
    }

    async fn run(self, clock: Arc<dyn Clock>) {
        loop {
            let now = clock.now();
            match self.run_due(now).await {
                Ok(report) if report.claimed > 0 => tracing::debug!(?report, "timers fired"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot claim due timers"),
            }
            match self.assigner.run_due(now).await {
                Ok(report) if report.assigned > 0 => tracing::debug!(?report, "items assigned"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot assign pending items"),
            }
            let wait = match self.store.next_timer_due().await {
                Ok(Some(due)) => clock
                    .now()
                    .duration_until(due)
                    .try_into()
                    .unwrap_or(Duration::ZERO),
                _ => self.config.tick,
            };
            tokio::time::sleep(wait.min(self.config.tick)).await;
        }
    }
}

/// The running scheduler loop; it stops when this is dropped.
#[derive(Debug)]
pub struct SchedulerTask {
    task: JoinHandle<()>,
}

impl Drop for SchedulerTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the scheduler loop of `baton serve` on `state`'s clock.
pub fn spawn_scheduler(state: &AppState, config: SchedulerConfig) -> SchedulerTask {
    let scheduler = Scheduler::new(state, config);
    SchedulerTask {
        task: tokio::spawn(scheduler.run(state.clock.clone())),
    }
}
