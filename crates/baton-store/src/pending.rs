//! Rows created in the current write batch and not yet sent to the database.
//!
//! Backends buffer inserts here and send them as multi-row `INSERT`s
//! ([`crate::sql::multi_row_insert`]) when the batch needs the database to
//! see them (before an update, when a command's savepoint is released, and
//! at commit). Reads inside the batch look here first, so buffering never
//! changes what a command sees.

use baton_core::event::micros;
use baton_core::timers::Timer;
use baton_core::{Event, Handoff};
use uuid::Uuid;

use crate::{Idempotency, Loaded, StoreError};

/// A new handoff row, serialised once.
#[derive(Debug, Clone)]
pub struct HandoffRow {
    /// The handoff.
    pub handoff: Handoff,
    /// Its JSON document.
    pub doc: String,
    /// Its last event's sequence number.
    pub last_seq: i64,
}

impl HandoffRow {
    /// Serialises `handoff` into a row.
    pub fn new(handoff: &Handoff, last_seq: i64) -> Result<Self, StoreError> {
        Ok(Self {
            last_seq,
            doc: serde_json::to_string(handoff).map_err(StoreError::backend)?,
            handoff: handoff.clone(),
        })
    }

    /// Text columns in [`crate::sql::HANDOFF_INSERT_COLUMNS`] order: id, workflow,
    /// owner_group, impact, reason, state.
    pub fn texts(&self) -> [String; 6] {
        let h = &self.handoff;
        [
            h.id.to_string(),
            h.workflow.to_string(),
            h.owner_group.to_string(),
            h.impact.to_string(),
            h.reason.to_string(),
            h.state.as_str().to_owned(),
        ]
    }

    /// Creation and update times, µs.
    pub fn times(&self) -> (i64, i64) {
        (
            micros(self.handoff.created_at),
            micros(self.handoff.updated_at),
        )
    }
}

/// The buffered rows of one batch.
#[derive(Debug, Default)]
pub struct PendingRows {
    /// New handoffs.
    pub handoffs: Vec<HandoffRow>,
    /// New idempotency keys: key, handoff id, body hash.
    pub idempotency: Vec<(String, Uuid, String)>,
    /// New events.
    pub events: Vec<Event>,
    /// Timers to arm.
    pub timers: Vec<Timer>,
    /// Outbox deliveries: id, handoff id, the notification, due µs.
    pub deliveries: Vec<(Uuid, Uuid, baton_core::notify::Notification, i64)>,
}

impl PendingRows {
    /// Buffers a new handoff and its idempotency key.
    pub fn insert(
        &mut self,
        handoff: &Handoff,
        idem: Option<&Idempotency>,
        last_seq: i64,
    ) -> Result<(), StoreError> {
        self.handoffs.push(HandoffRow::new(handoff, last_seq)?);
        if let Some(idem) = idem {
            self.idempotency
                .push((idem.key.clone(), handoff.id, idem.body_hash.clone()));
        }
        Ok(())
    }

    /// A buffered idempotency key.
    pub fn find_idempotency(&self, key: &str) -> Option<(Uuid, String)> {
        self.idempotency
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, id, hash)| (*id, hash.clone()))
    }

    /// A buffered (hence just created or imported, never updated) handoff.
    pub fn load(&self, id: Uuid) -> Option<Loaded> {
        self.handoffs
            .iter()
            .find(|r| r.handoff.id == id)
            .map(|r| Loaded {
                handoff: r.handoff.clone(),
                claim_token: None,
                last_seq: r.last_seq,
            })
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.handoffs.is_empty()
            && self.idempotency.is_empty()
            && self.events.is_empty()
            && self.timers.is_empty()
            && self.deliveries.is_empty()
    }
}
