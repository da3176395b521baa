//! Handlers, one module per feature. Thin: extract → core/store → view.

pub mod actions;
pub mod availability;
pub mod deliveries;
pub mod evaluate;
pub mod events;
pub mod handoffs;
pub mod health;
pub mod policy;
pub mod reports;
pub mod view;
pub mod views;
