//! Shared server state: the store, the clock and the settings handlers need.

use std::sync::Arc;
use std::time::Duration;

use baton_store::Store;

use crate::policy::PolicyHandle;
use crate::serving::streams::StreamSlots;
use crate::{Clock, Metrics};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long an evaluate turn waits for the conversation's earlier turns
    /// to be evaluated (docs/policy-activation.md).
    pub evaluate_order_wait: std::time::Duration,
    /// Longest a handler may take to produce its response head.
    pub request_timeout: Duration,
    /// Most server-sent-event streams open at once.
    pub max_streams: usize,
    /// Most server-sent-event streams open at once for one token.
    pub max_streams_per_token: usize,
    /// Reports folded at once, each on a blocking thread; more wait their turn.
    pub report_workers: usize,
}

/// Half the cores, at least one: reports never take every core from requests.
pub fn default_report_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            evaluate_order_wait: std::time::Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
            max_streams: 256,
            max_streams_per_token: 16,
            report_workers: default_report_workers(),
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Where `now` comes from.
    pub clock: Arc<dyn Clock>,
    /// HTTP settings.
    pub config: Arc<ServerConfig>,
    /// The active policy.
    pub policy: Arc<PolicyHandle>,
    /// This server's counters and histograms.
    pub metrics: Arc<Metrics>,
    /// Open event streams, under `max_streams` and `max_streams_per_token`.
    pub streams: Arc<StreamSlots>,
    /// Turns for report folds, `report_workers` of them.
    pub reports: Arc<tokio::sync::Semaphore>,
    /// Flips to `true` on shutdown, ending live streams so the server can drain.
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// State over `store` with `clock` and `config`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        Self {
            store,
            clock,
            streams: StreamSlots::new(config.max_streams, config.max_streams_per_token),
            reports: Arc::new(tokio::sync::Semaphore::new(config.report_workers.max(1))),
            config: Arc::new(config),
            policy: Arc::new(PolicyHandle::default_policy()),
            metrics: Arc::new(Metrics::new()),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// The same state with `policy` as the active policy.
    pub fn with_policy(mut self, policy: PolicyHandle) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Ends every live event stream; call when shutting down, or open
    /// streams keep the graceful shutdown waiting forever.
    pub fn stop_streams(&self) {
        self.stopping.send_replace(true);
    }

    /// Watches for [`AppState::stop_streams`].
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }
}
