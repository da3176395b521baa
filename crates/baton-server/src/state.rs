//! Shared server state: the store, the clock and the settings handlers need.

use std::sync::Arc;

use baton_store::Store;

use crate::policy::PolicyHandle;
use crate::{Clock, Metrics};

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// How long an evaluate turn waits for the conversation's earlier turns
    /// to be evaluated (docs/policy-activation.md).
    pub evaluate_order_wait: std::time::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            evaluate_order_wait: std::time::Duration::from_secs(1),
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
    /// Flips to `true` on shutdown, ending live streams so the server can drain.
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// State over `store` with `clock` and `config`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        Self {
            store,
            clock,
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
