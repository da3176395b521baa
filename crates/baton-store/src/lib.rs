//! The `Store` trait every Baton backend implements, the group-commit writer
//! they share, and the conformance suite they must all pass.
//!
//! Reads go straight to a backend's pool. Writes go through one [`Writer`]
//! task per store, which takes every request waiting at that moment into one
//! transaction (one fsync per batch) and appends their events to the hash
//! chain in order.

#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
pub mod pending;
mod query;
pub mod sql;
mod sql_backend;
mod sql_write_tx;
mod store;
mod token;
mod writer;

pub use error::StoreError;
pub use query::{Cursor, HandoffQuery, OpenTotal, Page, Sort};
pub use store::{
    ActOn, Acted, ActivatePolicy, Activated, AssignHandoff, Assigned, AssignmentStore,
    AttemptRecord, CreateHandoff, Created, Delivery, DeliveryState, DeliveryStore, FireTimer,
    FireTimers, Fired, Idempotency, ImportHandoff, POLICY_CHANNEL, PolicyStore, Store,
    StoredPolicy, StreakStep, TimerStore, TokenStore, verify_audit,
};
pub use token::TokenRecord;
pub use writer::{
    BACKOFF_MAX, BACKOFF_MIN, Loaded, MAX_BATCH, Update, WriteTx, Writer, WriterHealth,
};
