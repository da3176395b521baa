//! The policy watcher: keeps this instance on the version the database says
//! is active. It wakes on each announcement (PostgreSQL `LISTEN`, where the
//! store has it) and at every poll tick (every backend; also covers lost
//! announcements), and adopts the stored version when it differs.

use std::sync::Arc;
use std::time::Duration;

use baton_store::Store;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::policy::{PolicyHandle, SyncError};

/// How often the watcher reads the active version even without an announcement.
pub const POLL_EVERY: Duration = Duration::from_millis(500);

/// The running watcher; it stops when this is dropped.
#[derive(Debug)]
pub struct PolicyWatcher {
    task: JoinHandle<()>,
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the watcher for `state`'s policy, polling every `poll` (use
/// [`POLL_EVERY`]). The first poll is immediate.
pub fn spawn_policy_watcher(state: &AppState, poll: Duration) -> PolicyWatcher {
    let task = tokio::spawn(run(state.store.clone(), state.policy.clone(), poll));
    PolicyWatcher { task }
}

async fn run(store: Arc<dyn Store>, handle: Arc<PolicyHandle>, poll: Duration) {
    let mut notes = match store.policy_notifications().await {
        Ok(notes) => notes,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for policy activations; polling only");
            None
        }
    };
    let mut tick = tokio::time::interval(poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A version that does not build here is reported once, not every tick.
    let mut refused: Option<String> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            note = next(&mut notes) => {
                if note.is_none() {
                    tracing::warn!("policy announcements ended; polling only");
                    notes = None;
                }
            }
        }
        match handle.sync(store.as_ref()).await {
            Ok(Some(loaded)) => {
                tracing::info!(version = %loaded.policy.version, "adopted the policy active in the database");
            }
            Ok(None) => {}
            Err(SyncError::Store(err)) => {
                tracing::warn!(error = %err, "cannot read the active policy; keeping this one");
            }
            Err(SyncError::Invalid { version, errors }) => {
                if refused.as_ref() != Some(&version) {
                    tracing::error!(
                        %version,
                        count = errors.len(),
                        first = ?errors.first().map(|e| &e.message),
                        "the policy active in the database does not build here; keeping this one"
                    );
                    refused = Some(version);
                }
            }
        }
    }
}

/// The next announcement, or never when there is no listener.
async fn next(notes: &mut Option<mpsc::Receiver<String>>) -> Option<String> {
    match notes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
