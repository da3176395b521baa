//! The server's integration tests: one binary, one module per feature. Each
//! test gets an app of its own (fresh database, fake clock, a token per role)
//! and drives the router in process, or on `127.0.0.1:0` for streaming.

mod helpers;

mod assignment;
mod auth;
mod bad_input;
mod escalation;
mod evaluate_order;
mod events;
mod hostile_text;
mod idempotency;
mod input_rules;
mod instances;
mod lifecycle;
mod metrics;
mod notify;
mod openapi;
mod policy;
mod readiness;
mod serving;
mod timers;
mod views;
