//! Reports for leads, computed from the event log: each handoff's events fold
//! into a [`History`]; [`summarize`] groups histories into the summary
//! (MTTA, MTTR, SLA attainment, rework, ping-pong, …) and [`weekly`] gives
//! the weekly review (repeated reasons, oldest and ownerless items, load).
//!
//! Pure: the caller reads the events and passes the clock and the calendars in.

mod history;
mod summary;
mod weekly;

pub use history::{Histories, History, UNNECESSARY_REASONS};
pub use summary::{
    Attainment, Durations, GroupBy, Summary, SummaryRow, TimeTo, WorkingTime, summarize,
};
pub use weekly::{LIST_LEN, OpenItem, ReasonWeek, ReviewerLoad, Weekly, weekly};

#[cfg(test)]
mod tests;
