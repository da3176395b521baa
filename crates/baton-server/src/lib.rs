//! Baton's HTTP API: handoffs and their actions, leader views, the event
//! feed, auth by API token, OpenAPI, Prometheus metrics. Built on axum over
//! any [`baton_store::Store`].

mod api;
pub mod assigner;
pub mod clock;
mod error;
mod extract;
pub mod metrics;
pub mod notify;
mod openapi;
pub mod outbox;
pub mod policy;
pub mod policy_watch;
pub mod reports;
mod router;
pub mod scheduler;
pub mod serving;
mod state;
mod strict_json;
pub mod token;

pub use assigner::{AssignReport, Assigner};
pub use clock::{Clock, FakeClock, SystemClock};
pub use error::ApiError;
pub use metrics::{Metrics, metrics_router};
pub use outbox::{DispatchReport, Dispatcher, DispatcherTask, NotifySettings, spawn_dispatcher};
pub use policy::{Activation, LoadedPolicy, PolicyHandle, ReloadError};
pub use policy_watch::{POLL_EVERY, PolicyWatcher, spawn_policy_watcher};
pub use router::{ENDPOINTS, Endpoint, router};
pub use scheduler::{RunReport, Scheduler, SchedulerConfig, SchedulerTask, spawn_scheduler};
pub use serving::{ServeOptions, serve, serve_with};
pub use state::{AppState, ServerConfig};
