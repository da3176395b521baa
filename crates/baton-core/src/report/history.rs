//! [`History`]: what one handoff's events say about it, folded event by event.

use jiff::Timestamp;
use serde_json::Value;

use crate::{Event, EventKind, Handoff, LifecycleState};

/// One handoff's history as reports need it.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The one-line title.
    pub title: String,
    /// Workflow.
    pub workflow: String,
    /// Customer impact.
    pub impact: String,
    /// Handoff reason.
    pub reason: String,
    /// Owner group now.
    pub owner_group: String,
    /// Who holds or last held it.
    pub assignee: Option<String>,
    /// Support line now, when the item carries one (`payload.support_line`,
    /// then `to_line` of each move).
    pub line: Option<u8>,
    /// Created.
    pub created_at: Timestamp,
    /// Claim by (SLA), if the policy set one.
    pub accept_by: Option<Timestamp>,
    /// Resolve by (SLA), if the policy set one.
    pub resolve_by: Option<Timestamp>,
    /// First claim.
    pub first_claim_at: Option<Timestamp>,
    /// Last resolution, while resolved or closed.
    pub resolved_at: Option<Timestamp>,
    /// Lifecycle state after the last event.
    pub state: LifecycleState,
    /// Who decided the last resolution.
    pub resolver: Option<String>,
    /// The last resolution was a false positive: approved with no change, or
    /// its reason says the handoff was unnecessary.
    pub false_positive: bool,
    /// Times reopened.
    pub reopened: u32,
    /// Moves back down a support line (reason `bounce_back`).
    pub bounced_back: u32,
    /// Waiting ⇄ in progress cycles (information requested).
    pub waiting_cycles: u32,
    /// Moves to another owner group.
    pub reassignments: u32,
    /// Owner groups in order, repeats collapsed.
    pub groups: Vec<String>,
    /// Moved between line 1 and lines 2 or 3 at least once.
    pub line_move: bool,
}

/// Resolution reasons that mark a handoff as unnecessary.
pub const UNNECESSARY_REASONS: [&str; 3] = ["unnecessary", "false_positive", "not_needed"];

impl History {
    /// Starts a history from the `created` event's handoff.
    pub fn created(handoff: &Handoff) -> Self {
        let line = handoff
            .context
            .payload
            .get("support_line")
            .and_then(Value::as_u64)
            .and_then(|l| u8::try_from(l).ok());
        Self {
            title: handoff.title.clone(),
            workflow: handoff.workflow.to_string(),
            impact: handoff.impact.to_string(),
            reason: handoff.reason.to_string(),
            owner_group: handoff.owner_group.to_string(),
            assignee: handoff.assignee.clone(),
            line,
            created_at: handoff.created_at,
            accept_by: handoff.accept_by,
            resolve_by: handoff.resolve_by,
            first_claim_at: None,
            resolved_at: None,
            state: handoff.state,
            resolver: None,
            false_positive: false,
            reopened: 0,
            bounced_back: 0,
            waiting_cycles: 0,
            reassignments: 0,
            groups: vec![handoff.owner_group.to_string()],
            line_move: false,
        }
    }

    /// Folds in the next event of the same handoff (after `created`).
    pub fn apply(&mut self, event: &Event) {
        use LifecycleState::*;
        let d = &event.data;
        let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
        match event.kind {
            EventKind::Created => {}
            EventKind::Claimed => {
                self.state = InProgress;
                self.assignee = text("assignee");
                self.first_claim_at.get_or_insert(event.at);
            }
            EventKind::Released => self.state = Pending,
            EventKind::InfoRequested => {
                self.state = Waiting;
                self.waiting_cycles += 1;
            }
            EventKind::InfoReceived => self.state = InProgress,
            EventKind::ContextReceived => self.state = Pending,
            EventKind::Reassigned | EventKind::Escalated => {
                if let Some(to) = text("to")
                    && to != self.owner_group
                {
                    self.reassignments += 1;
                    self.state = Pending;
                    if self.groups.last() != Some(&to) {
                        self.groups.push(to.clone());
                    }
                    self.owner_group = to;
                }
                if text("reason").as_deref() == Some("bounce_back") {
                    self.bounced_back += 1;
                }
                let line = |k: &str| d.get(k).and_then(Value::as_u64);
                if let (Some(from), Some(to)) = (line("from_line"), line("to_line")) {
                    self.line_move |= (from == 1) != (to == 1);
                    self.line = u8::try_from(to).ok();
                }
            }
            EventKind::Resolved => {
                self.state = Resolved;
                self.resolved_at = Some(event.at);
                self.resolver = text("decided_by");
                let reason = text("resolution_reason").unwrap_or_default();
                let unchanged = d.get("changes").is_none_or(|c| {
                    c.is_null() || c.as_object().is_some_and(serde_json::Map::is_empty)
                });
                self.false_positive = UNNECESSARY_REASONS.contains(&reason.as_str())
                    || (text("resolution").as_deref() == Some("approved") && unchanged);
            }
            EventKind::Closed => self.state = Closed,
            EventKind::Reopened => self.reopen(),
            EventKind::ExecutionReported => {
                if d.get("reopened").and_then(Value::as_bool) == Some(true) {
                    self.reopen();
                }
            }
            EventKind::NoteAdded
            | EventKind::PolicyActivated
            | EventKind::SlaWarned
            | EventKind::SlaBreached => {}
        }
    }

    fn reopen(&mut self) {
        self.state = LifecycleState::Pending;
        self.reopened += 1;
        self.resolved_at = None;
    }

    /// Still open (pending, in progress or waiting).
    pub fn is_open(&self) -> bool {
        self.state.is_open() || self.state == LifecycleState::NeedsContext
    }

    /// Went through more than one owner group.
    pub fn multi_team(&self) -> bool {
        let mut distinct: Vec<&String> = self.groups.iter().collect();
        distinct.sort();
        distinct.dedup();
        distinct.len() > 1
    }

    /// Returned to the owner group it had just left (A → B → A).
    pub fn ping_pong(&self) -> bool {
        self.groups.windows(3).any(|w| w[0] == w[2])
    }

    /// Reopened or bounced back: work done twice.
    pub fn rework(&self) -> bool {
        self.reopened > 0 || self.bounced_back > 0
    }
}

/// Folds a whole event log (in log order) into one history per handoff, in
/// creation-event order. Events of handoffs whose `created` event is missing
/// or unreadable are ignored.
#[derive(Debug, Default)]
pub struct Histories {
    index: std::collections::HashMap<uuid::Uuid, usize>,
    /// The histories, in the order their handoffs were written.
    pub items: Vec<(uuid::Uuid, History)>,
}

impl Histories {
    /// Folds in the next event of the log.
    pub fn apply(&mut self, event: &Event) {
        if event.kind == EventKind::Created {
            if let Ok(handoff) = <Handoff as serde::Deserialize>::deserialize(&event.data) {
                self.index.insert(event.handoff_id, self.items.len());
                self.items
                    .push((event.handoff_id, History::created(&handoff)));
            }
            return;
        }
        if let Some(&i) = self.index.get(&event.handoff_id) {
            self.items[i].1.apply(event);
        }
    }
}
