//! Baton's pure domain: handoffs, the two state machines, events and the hash chain.
//!
//! Nothing here does IO or reads the clock: every function that needs the time
//! takes `now` as an argument. The store and the server carry the results out.

pub mod assign;
pub mod auth;
pub mod chain;
pub mod clocks;
pub mod delivery;
pub mod error;
pub mod escalate;
pub mod event;
pub mod eventlog;
pub mod handoff;
pub mod label;
pub mod lifecycle;
pub mod limits;
pub mod notify;
pub mod policy;
pub mod react;
pub mod receipt;
pub mod report;
pub mod timers;
pub mod views;

pub use auth::{Permission, Role};
pub use chain::{ChainHead, ChainVerdict, GENESIS_HASH, verify_chain};
pub use error::DomainError;
pub use event::{Event, EventKind, NewEvent, SYSTEM_STREAM};
pub use handoff::{AiAssessment, ContextPacket, Handoff, Link, Message, NewHandoff, Subject, Tier};
pub use label::Label;
pub use lifecycle::{
    Action, AiOutputState, Change, ExecutionOutcome, LifecycleState, NoteVisibility,
};
pub use receipt::{ClosureReceipt, ReceiptInput, Resolution};
