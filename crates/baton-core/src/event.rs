//! Events: past-tense facts appended to the event log, one per change.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

/// What happened to a handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The handoff was created; data is the whole handoff.
    Created,
    /// Someone claimed it.
    Claimed,
    /// The assignee gave it back.
    Released,
    /// Information was requested; it now waits.
    InfoRequested,
    /// The information arrived.
    InfoReceived,
    /// An internal or customer-safe note was added.
    NoteAdded,
    /// It moved to another owner group.
    Reassigned,
    /// It was escalated.
    Escalated,
    /// It was resolved; data is the closure receipt.
    Resolved,
    /// The automation reported executing the decision, or failing to.
    ExecutionReported,
    /// It was closed.
    Closed,
    /// It was reopened (rework).
    Reopened,
    /// The payload fields its workflow's contract requires arrived.
    ContextReceived,
    /// A policy version became the active one. Belongs to no handoff: it is
    /// on the system stream [`SYSTEM_STREAM`] (the nil id) with its own seq;
    /// data is `{"version", "previous", "source"}`.
    PolicyActivated,
    /// An SLA clock reached its reminder point; data is `{clock, due_at,
    /// late_by_ms, rule, cycle}` (`clock` is `accept` or `resolve`).
    SlaWarned,
    /// An SLA clock ran out; data as for [`EventKind::SlaWarned`].
    SlaBreached,
    /// The time promised to the customer for the next update passed with
    /// no customer-safe note; data is `{promised_at, late_by_ms, rule}`.
    UpdateDue,
    /// The assigner offered the pending item to a reviewer of its group;
    /// data is `{assignee, strategy, accept_within_ms, expires_at}`.
    Assigned,
    /// An assignment was not claimed within the impact's `accept_within`:
    /// the item is back in the queue; data is `{assignee, assigned_at,
    /// due_at, late_by_ms}`.
    AssignmentExpired,
}

/// The `handoff_id` of events that belong to no handoff (policy activations):
/// the nil UUID, with its own `seq` counting from 1.
pub const SYSTEM_STREAM: Uuid = Uuid::nil();

impl EventKind {
    /// Every kind.
    pub const ALL: [Self; 19] = [
        Self::Created,
        Self::Claimed,
        Self::Released,
        Self::InfoRequested,
        Self::InfoReceived,
        Self::NoteAdded,
        Self::Reassigned,
        Self::Escalated,
        Self::Resolved,
        Self::ExecutionReported,
        Self::Closed,
        Self::Reopened,
        Self::ContextReceived,
        Self::PolicyActivated,
        Self::SlaWarned,
        Self::SlaBreached,
        Self::UpdateDue,
        Self::Assigned,
        Self::AssignmentExpired,
    ];

    /// The wire name, e.g. `info_requested`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Claimed => "claimed",
            Self::Released => "released",
            Self::InfoRequested => "info_requested",
            Self::InfoReceived => "info_received",
            Self::NoteAdded => "note_added",
            Self::Reassigned => "reassigned",
            Self::Escalated => "escalated",
            Self::Resolved => "resolved",
            Self::ExecutionReported => "execution_reported",
            Self::Closed => "closed",
            Self::Reopened => "reopened",
            Self::ContextReceived => "context_received",
            Self::PolicyActivated => "policy_activated",
            Self::SlaWarned => "sla_warned",
            Self::SlaBreached => "sla_breached",
            Self::UpdateDue => "update_due",
            Self::Assigned => "assigned",
            Self::AssignmentExpired => "assignment_expired",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event before it has a place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The handoff it happened to.
    pub handoff_id: Uuid,
    /// What happened.
    pub kind: EventKind,
    /// Who did it (token or user name).
    pub actor: String,
    /// When, to the microsecond.
    pub at: Timestamp,
    /// Details, a JSON value.
    pub data: Value,
}

/// An event in the log, chained to the one before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Event {
    /// Position in the whole log, from 1; also the global feed cursor.
    pub position: i64,
    /// The handoff it happened to.
    pub handoff_id: Uuid,
    /// Sequence number within the handoff, from 1.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// Who did it.
    pub actor: String,
    /// When.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// Details.
    pub data: Value,
    /// Hex SHA-256 of the previous event (64 zeros for the first).
    pub prev_hash: String,
    /// Hex `SHA-256(prev_hash ‖ canonical bytes)`, see [`Event::canonical_bytes`].
    pub hash: String,
}

impl Event {
    /// The bytes that are hashed: compact JSON of position, handoff id, seq,
    /// kind, actor, time in microseconds since the Unix epoch, and data, in that
    /// order. Object keys inside `data` are sorted (serde_json's default map),
    /// so the bytes are the same after a round trip through any store.
    /// The exact form is specified in `docs/event-log.md` and pinned by the
    /// golden vectors in `tests/canonical_vectors.rs`: never change it.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Canonical<'a> {
            position: i64,
            handoff_id: &'a Uuid,
            seq: i64,
            kind: &'static str,
            actor: &'a str,
            at_us: i64,
            data: &'a Value,
        }
        let canonical = Canonical {
            position: self.position,
            handoff_id: &self.handoff_id,
            seq: self.seq,
            kind: self.kind.as_str(),
            actor: &self.actor,
            at_us: micros(self.at),
            data: &self.data,
        };
        serde_json::to_vec(&canonical).unwrap_or_default()
    }
}

/// Microseconds since the Unix epoch (the precision every store keeps).
pub fn micros(at: Timestamp) -> i64 {
    at.as_microsecond()
}

/// The timestamp `us` microseconds after the Unix epoch, clamped to jiff's range.
pub fn from_micros(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(if us < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}
