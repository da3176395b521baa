//! Shared server state: the store, the clock and the settings handlers need.

use std::sync::Arc;

use baton_store::Store;

use crate::Clock;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Owner group of handoffs created without one.
    pub default_group: String,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            default_group: "triage".into(),
            body_limit: 1024 * 1024,
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
}

impl AppState {
    /// State over `store` with `clock` and `config`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: ServerConfig) -> Self {
        Self {
            store,
            clock,
            config: Arc::new(config),
        }
    }
}
