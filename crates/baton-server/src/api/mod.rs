//! Handlers, one module per feature. Thin: extract → core/store → view.

pub mod actions;
pub mod events;
pub mod handoffs;
pub mod health;
pub mod view;
pub mod views;
