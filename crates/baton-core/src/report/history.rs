//! [`History`]: what one handoff's events say about it, folded event by event.
//!
//! Given a policy ([`Histories::with_policy`]), each history also drives the
//! live SLA clocks ([`ClockRun`]: `clocks::follow` over its lifecycle
//! changes), so SLA attainment is judged by the same rule as the server's
//! clocks and `/metrics`; without one it keeps the stored `accept_by` and
//! `resolve_by` of the `created` event.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use crate::clocks::{ClockRun, state_after};
use crate::policy::Policy;
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
    /// Claim by (SLA) as the `created` event has it, if the policy set one:
    /// attainment uses it only when there are no live clocks ([`History::sla`]).
    pub accept_by: Option<Timestamp>,
    /// Resolve by (SLA) as the `created` event has it; as `accept_by`.
    pub resolve_by: Option<Timestamp>,
    /// The live SLA clocks driven through this history under the report's
    /// policy; `None` without a policy or for an impact it does not declare.
    pub sla: Option<ClockRun>,
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
    /// Assignments not claimed in time (`assignment_expired` events).
    pub assignments_expired: u32,
    /// Owner groups in order, repeats collapsed.
    pub groups: Vec<String>,
    /// Moved between line 1 and lines 2 or 3 at least once.
    pub line_move: bool,
}

/// Resolution reasons that mark a handoff as unnecessary.
pub const UNNECESSARY_REASONS: [&str; 3] = ["unnecessary", "false_positive", "not_needed"];

impl History {
    /// Starts a history from the `created` event's handoff, with its live
    /// clocks when `policy` is given and declares its impact.
    pub fn created(handoff: &Handoff, policy: Option<&Policy>) -> Self {
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
            sla: policy.and_then(|p| ClockRun::start(handoff, p)),
            first_claim_at: None,
            resolved_at: None,
            state: handoff.state,
            resolver: None,
            false_positive: false,
            reopened: 0,
            bounced_back: 0,
            waiting_cycles: 0,
            reassignments: 0,
            assignments_expired: 0,
            groups: vec![handoff.owner_group.to_string()],
            line_move: false,
        }
    }

    /// Folds in the next event of the same handoff (after `created`);
    /// `policy` is the one the history was created with.
    pub fn apply(&mut self, event: &Event, policy: Option<&Policy>) {
        let d = &event.data;
        let text = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
        let before = self.state;
        self.state = state_after(before, event.kind, d);
        if self.state != before
            && let (Some(run), Some(policy)) = (&mut self.sla, policy)
        {
            run.change(event.kind, self.state, policy, event.at);
        }
        match event.kind {
            EventKind::Created => {}
            EventKind::Claimed => {
                self.assignee = text("assignee");
                self.first_claim_at.get_or_insert(event.at);
            }
            EventKind::InfoRequested => self.waiting_cycles += 1,
            EventKind::Released
            | EventKind::InfoReceived
            | EventKind::ContextReceived
            | EventKind::Closed => {}
            EventKind::Reassigned | EventKind::Escalated => {
                if let Some(to) = text("to")
                    && to != self.owner_group
                {
                    self.reassignments += 1;
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
                self.resolved_at = Some(event.at);
                self.resolver = text("decided_by");
                let reason = text("resolution_reason").unwrap_or_default();
                let unchanged = d.get("changes").is_none_or(|c| {
                    c.is_null() || c.as_object().is_some_and(serde_json::Map::is_empty)
                });
                self.false_positive = UNNECESSARY_REASONS.contains(&reason.as_str())
                    || (text("resolution").as_deref() == Some("approved") && unchanged);
            }
            EventKind::Reopened => self.reopen(),
            EventKind::ExecutionReported => {
                if d.get("reopened").and_then(Value::as_bool) == Some(true) {
                    self.reopen();
                }
            }
            EventKind::NoteAdded
            | EventKind::PolicyActivated
            | EventKind::SlaWarned
            | EventKind::SlaBreached
            | EventKind::UpdateDue
            | EventKind::Assigned => {}
            EventKind::AssignmentExpired => self.assignments_expired += 1,
        }
    }

    fn reopen(&mut self) {
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
    policy: Option<Arc<Policy>>,
    /// The histories, in the order their handoffs were written.
    pub items: Vec<(uuid::Uuid, History)>,
}

impl Histories {
    /// Histories that drive each handoff's live SLA clocks under `policy`
    /// (the report's), so attainment follows the clock rule.
    pub fn with_policy(policy: Arc<Policy>) -> Self {
        Self {
            policy: Some(policy),
            ..Self::default()
        }
    }

    /// Folds in the next event of the log.
    pub fn apply(&mut self, event: &Event) {
        if event.kind == EventKind::Created {
            if let Ok(handoff) = <Handoff as serde::Deserialize>::deserialize(&event.data) {
                self.index.insert(event.handoff_id, self.items.len());
                self.items.push((
                    event.handoff_id,
                    History::created(&handoff, self.policy.as_deref()),
                ));
            }
            return;
        }
        if let Some(&i) = self.index.get(&event.handoff_id) {
            self.items[i].1.apply(event, self.policy.as_deref());
        }
    }
}
