//! Event logs from other systems (process-mining XES and CSV): cases of
//! attributed events, the mapping that reads them as handoffs, and the facts
//! a lead asks of them (team changes, ping-pong, support-line moves, open
//! cases, impact mix). Pure: readers in the CLI feed cases in.

mod facts;
mod import;
mod mapping;
mod simulate;

use std::collections::BTreeMap;

pub use facts::{CaseFacts, LogFacts};
pub use import::{Anomaly, AnomalyKind, CaseImport, PlannedAction, import_case, label_of};
pub use mapping::{HandoffDefaults, LineConfig, MappingConfig, StatusRule, Step};
pub use simulate::{ImpactOutcome, Simulation, Timeline, simulate};

/// One event of a case: its attributes as text, keyed by the log's own names
/// (for XES the `key` of each attribute, e.g. `org:group`).
pub type Attributes = BTreeMap<String, String>;

/// A case (trace) of a log: its own attributes and its events in log order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Case {
    /// Trace-level attributes (the case id among them).
    pub attributes: Attributes,
    /// Events in the order the log gives them.
    pub events: Vec<Attributes>,
    /// The line of the file each event starts on (parallel to `events`;
    /// empty when the reader does not know).
    pub lines: Vec<u64>,
}

impl Case {
    /// The file line of event `index`, 0 when unknown.
    pub fn line(&self, index: usize) -> u64 {
        self.lines.get(index).copied().unwrap_or(0)
    }
}
