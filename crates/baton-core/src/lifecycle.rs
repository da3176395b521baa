//! The two linked state machines, lifecycle and AI output, and the one transition function.
//!
//! Lifecycle: `needs_context` (parked: the payload misses its workflow's
//! contract) → `pending` (context provided); `pending` → `in_progress` (claim) ⇄ `waiting` (info requested /
//! received) → `resolved` → `closed`; release (`in_progress` → `pending`);
//! reassign or escalate to another owner group (→ `pending`); reopen
//! (`resolved`/`closed` → `pending`, counted as rework).
//!
//! AI output: `proposed` → `approved` | `corrected` | `rejected` (by the
//! resolution) → `executed` | `failed` (reported by the automation);
//! `escalated`. A failed execution reopens the handoff.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;

use crate::handoff::{bounded, non_empty};
use crate::receipt::{ReceiptInput, Resolution};
use crate::{DomainError, EventKind, Handoff, Label};

/// Where a handoff is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LifecycleState {
    /// Queued, unowned.
    Pending,
    /// Claimed by an assignee.
    InProgress,
    /// Waiting on the requester, the customer or another team.
    Waiting,
    /// Decided, with a closure receipt.
    Resolved,
    /// Finished.
    Closed,
    /// Parked until the requester sends the payload fields its workflow's
    /// contract requires; not yet in any queue.
    NeedsContext,
}

impl LifecycleState {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 6] = [
        Self::NeedsContext,
        Self::Pending,
        Self::InProgress,
        Self::Waiting,
        Self::Resolved,
        Self::Closed,
    ];

    /// The wire name, e.g. `in_progress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Waiting => "waiting",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::NeedsContext => "needs_context",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// True for `pending`, `in_progress` and `waiting`.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::InProgress | Self::Waiting)
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the AI's proposed output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AiOutputState {
    /// Awaiting a person's decision.
    Proposed,
    /// A person approved it unchanged.
    Approved,
    /// A person approved it with changes.
    Corrected,
    /// A person rejected it.
    Rejected,
    /// The automation confirmed it carried the decision out.
    Executed,
    /// The automation reported that carrying it out failed.
    Failed,
    /// It went up the escalation chain.
    Escalated,
}

impl AiOutputState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Approved => "approved",
            Self::Corrected => "corrected",
            Self::Rejected => "rejected",
            Self::Executed => "executed",
            Self::Failed => "failed",
            Self::Escalated => "escalated",
        }
    }
}

impl fmt::Display for AiOutputState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may read a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NoteVisibility {
    /// Colleagues only.
    #[default]
    Internal,
    /// Safe to show the customer; becomes the handoff's latest customer note.
    Customer,
}

/// What the automation reports after acting on a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionOutcome {
    /// Carried out.
    Executed,
    /// Carrying it out failed; the handoff reopens.
    Failed,
}

/// Something a person or an automation does to a handoff.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Take ownership: `pending` → `in_progress`.
    Claim {
        /// Who claims it.
        assignee: String,
    },
    /// Give it back: `in_progress` → `pending`.
    Release,
    /// Ask the requester or another team: `in_progress` → `waiting`.
    RequestInfo {
        /// What is asked.
        question: String,
    },
    /// The answer arrived: `waiting` → `in_progress`.
    ProvideInfo {
        /// The answer.
        info: String,
    },
    /// Add a note in any state but `closed`.
    AddNote {
        /// The note.
        text: String,
        /// Internal or customer-safe.
        visibility: NoteVisibility,
        /// For a customer-safe note: when the customer was promised the next
        /// update (it becomes the handoff's `next_update_at`, with a timer).
        next_update_at: Option<Timestamp>,
    },
    /// Hand it to another owner group: open → `pending`.
    Reassign {
        /// The new owner group.
        owner_group: String,
        /// Why.
        reason: Option<String>,
    },
    /// Escalate, optionally to another owner group (then → `pending`).
    Escalate {
        /// The group to escalate to; stays with the current one when absent.
        owner_group: Option<String>,
        /// Why.
        reason: String,
    },
    /// Decide: `in_progress` → `resolved`, with a closure receipt.
    Resolve(ReceiptInput),
    /// The automation reports carrying the decision out (or failing to).
    ReportExecution {
        /// Executed or failed.
        outcome: ExecutionOutcome,
        /// Details, e.g. an error message.
        detail: Option<String>,
    },
    /// Finish: `resolved` → `closed`.
    Close,
    /// The outcome failed downstream: `resolved`/`closed` → `pending` (rework).
    Reopen {
        /// Why.
        reason: String,
    },
    /// The missing payload fields arrived: `needs_context` → `pending`. The
    /// caller checks the merged payload against the workflow's contract first.
    ProvideContext {
        /// Fields merged into the context packet's payload.
        payload: serde_json::Map<String, Value>,
    },
}

impl Action {
    /// The verb used in errors and routes, e.g. `claim`, `request-info`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Claim { .. } => "claim",
            Self::Release => "release",
            Self::RequestInfo { .. } => "request-info",
            Self::ProvideInfo { .. } => "provide-info",
            Self::AddNote { .. } => "add a note to",
            Self::Reassign { .. } => "reassign",
            Self::Escalate { .. } => "escalate",
            Self::Resolve(_) => "resolve",
            Self::ReportExecution { .. } => "report execution",
            Self::Close => "close",
            Self::Reopen { .. } => "reopen",
            Self::ProvideContext { .. } => "provide-context",
        }
    }

    /// True if only the claim holder may take this action.
    pub fn needs_claim(&self) -> bool {
        matches!(
            self,
            Self::Release | Self::RequestInfo { .. } | Self::Resolve(_)
        )
    }
}

/// The outcome of a legal action: the new handoff and the event to append.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The handoff after the action.
    pub handoff: Handoff,
    /// The event kind to record.
    pub kind: EventKind,
    /// The event's data (JSON object).
    pub data: Value,
}

/// Applies `action` by `actor` at `now` to `handoff`.
///
/// Pure: returns the changed handoff and the event to record, or an error
/// naming the state and the action.
///
/// # Errors
/// [`DomainError::IllegalTransition`] or [`DomainError::IllegalAiTransition`]
/// when the action is not allowed in the current state, and
/// [`DomainError::Invalid`] for bad action input.
pub fn apply(
    handoff: &Handoff,
    action: Action,
    actor: &str,
    now: Timestamp,
) -> Result<Change, DomainError> {
    use LifecycleState::*;
    let state = handoff.state;
    let refuse = |action: &Action| DomainError::IllegalTransition {
        state,
        action: action.name(),
    };
    let mut h = handoff.clone();
    h.updated_at = now;
    let (kind, data) = match action {
        Action::Claim { assignee } => {
            if state != Pending {
                return Err(refuse(&Action::Claim { assignee }));
            }
            non_empty("assignee", &assignee)?;
            h.state = InProgress;
            h.assignee = Some(assignee.clone());
            h.claimed_at = Some(now);
            (EventKind::Claimed, json!({ "assignee": assignee }))
        }
        Action::Release => {
            if state != InProgress {
                return Err(refuse(&Action::Release));
            }
            let previous = h.assignee.take();
            h.state = Pending;
            (
                EventKind::Released,
                json!({ "previous_assignee": previous }),
            )
        }
        Action::RequestInfo { question } => {
            if state != InProgress {
                return Err(refuse(&Action::RequestInfo { question }));
            }
            non_empty("question", &question)?;
            h.state = Waiting;
            (EventKind::InfoRequested, json!({ "question": question }))
        }
        Action::ProvideInfo { info } => {
            if state != Waiting {
                return Err(refuse(&Action::ProvideInfo { info }));
            }
            non_empty("info", &info)?;
            h.state = InProgress;
            (EventKind::InfoReceived, json!({ "info": info }))
        }
        Action::AddNote {
            text,
            visibility,
            next_update_at,
        } => {
            if state == Closed {
                return Err(refuse(&Action::AddNote {
                    text,
                    visibility,
                    next_update_at,
                }));
            }
            non_empty("text", &text)?;
            if let Some(promised) = next_update_at {
                if visibility != NoteVisibility::Customer {
                    return Err(DomainError::invalid(
                        "next_update_at",
                        "only a customer-safe note (visibility customer) promises the customer an update",
                    ));
                }
                if promised <= now {
                    return Err(DomainError::invalid(
                        "next_update_at",
                        "must be in the future: the time the customer was promised the next update",
                    ));
                }
                if !state.is_open() {
                    return Err(DomainError::invalid(
                        "next_update_at",
                        format!("a {state} handoff promises no further update"),
                    ));
                }
            }
            if visibility == NoteVisibility::Customer {
                h.customer_note = Some(text.clone());
                // Each customer update keeps or replaces the promise.
                h.next_update_at = next_update_at;
            }
            (
                EventKind::NoteAdded,
                json!({ "text": text, "visibility": visibility, "next_update_at": next_update_at }),
            )
        }
        Action::Reassign {
            owner_group,
            reason,
        } => {
            if !state.is_open() {
                return Err(refuse(&Action::Reassign {
                    owner_group,
                    reason,
                }));
            }
            let group = Label::parse("owner_group", &owner_group)?;
            if let Some(reason) = &reason {
                bounded("reason", reason)?;
            }
            let from = std::mem::replace(&mut h.owner_group, group);
            h.state = Pending;
            h.assignee = None;
            (
                EventKind::Reassigned,
                json!({ "from": from, "to": h.owner_group, "reason": reason }),
            )
        }
        Action::Escalate {
            owner_group,
            reason,
        } => {
            if !state.is_open() {
                return Err(refuse(&Action::Escalate {
                    owner_group,
                    reason,
                }));
            }
            non_empty("reason", &reason)?;
            let from = h.owner_group.clone();
            if let Some(group) = &owner_group {
                h.owner_group = Label::parse("owner_group", group)?;
                h.state = Pending;
                h.assignee = None;
            }
            if h.ai_state == AiOutputState::Proposed {
                h.ai_state = AiOutputState::Escalated;
            }
            h.escalation_count += 1;
            (
                EventKind::Escalated,
                json!({ "from": from, "to": h.owner_group, "reason": reason }),
            )
        }
        Action::Resolve(input) => {
            if state != InProgress {
                return Err(refuse(&Action::Resolve(input)));
            }
            let receipt = input.into_receipt(actor, now)?;
            h.state = Resolved;
            h.next_update_at = None;
            h.resolved_at = Some(now);
            h.ai_state = match (h.ai_state, receipt.resolution) {
                (AiOutputState::Proposed | AiOutputState::Escalated, Resolution::Approved) => {
                    AiOutputState::Approved
                }
                (AiOutputState::Proposed | AiOutputState::Escalated, Resolution::Corrected) => {
                    AiOutputState::Corrected
                }
                (AiOutputState::Proposed | AiOutputState::Escalated, Resolution::Rejected) => {
                    AiOutputState::Rejected
                }
                (AiOutputState::Proposed, Resolution::Escalated) => AiOutputState::Escalated,
                (current, _) => current,
            };
            if let Some(note) = &receipt.customer_note {
                h.customer_note = Some(note.clone());
            }
            let data = serde_json::to_value(&receipt).unwrap_or(Value::Null);
            h.receipt = Some(receipt);
            (EventKind::Resolved, data)
        }
        Action::ReportExecution { outcome, detail } => {
            if !matches!(
                h.ai_state,
                AiOutputState::Approved | AiOutputState::Corrected
            ) {
                return Err(DomainError::IllegalAiTransition {
                    state: h.ai_state,
                    action: "report execution",
                });
            }
            if let Some(detail) = &detail {
                bounded("detail", detail)?;
            }
            let mut reopened = false;
            match outcome {
                ExecutionOutcome::Executed => h.ai_state = AiOutputState::Executed,
                ExecutionOutcome::Failed => {
                    h.ai_state = AiOutputState::Failed;
                    if matches!(state, Resolved | Closed) {
                        reopen(&mut h);
                        reopened = true;
                    }
                }
            }
            (
                EventKind::ExecutionReported,
                json!({ "outcome": outcome, "detail": detail, "reopened": reopened }),
            )
        }
        Action::Close => {
            if state != Resolved {
                return Err(refuse(&Action::Close));
            }
            h.state = Closed;
            h.closed_at = Some(now);
            (EventKind::Closed, json!({}))
        }
        Action::ProvideContext { payload } => {
            if state != NeedsContext {
                return Err(refuse(&Action::ProvideContext { payload }));
            }
            for (key, value) in &payload {
                let path = format!("payload.{key}");
                crate::limits::check_nul(&path, key)?;
                crate::limits::check_json_nul(&path, value)?;
            }
            let fields: Vec<String> = payload.keys().cloned().collect();
            h.context.payload.extend(payload);
            h.missing_fields.clear();
            h.state = Pending;
            (EventKind::ContextReceived, json!({ "fields": fields }))
        }
        Action::Reopen { reason } => {
            if !matches!(state, Resolved | Closed) {
                return Err(refuse(&Action::Reopen { reason }));
            }
            non_empty("reason", &reason)?;
            reopen(&mut h);
            (EventKind::Reopened, json!({ "reason": reason }))
        }
    };
    Ok(Change {
        handoff: h,
        kind,
        data,
    })
}

fn reopen(h: &mut Handoff) {
    h.state = LifecycleState::Pending;
    h.assignee = None;
    h.resolved_at = None;
    h.closed_at = None;
    h.receipt = None;
    h.reopen_count += 1;
}

#[cfg(test)]
mod tests;
