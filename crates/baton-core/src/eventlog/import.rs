//! One case of a log read as a handoff: the lifecycle actions its status
//! changes stand for, the events they give, and what could not be read.
//!
//! The log's statuses do not always follow Baton's lifecycle (an incident can
//! be `Completed` while still queued, or `Accepted` again after it was
//! closed), so each step brings the handoff there by the shortest legal path:
//! claim before resolving, provide the awaited information before resuming,
//! reopen before working on a closed item. Every synthetic action carries the
//! source event's time and line. Team changes come first: to a higher support
//! line is an escalation (`tier_escalation`), to a lower one a reassignment
//! (`bounce_back`), within a line a reassignment (`team_change`).

use jiff::Timestamp;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::mapping::{MappingConfig, Step};
use super::{Attributes, Case};
use crate::lifecycle::{Action, LifecycleState, apply};
use crate::receipt::ReceiptInput;
use crate::{ContextPacket, DomainError, Handoff, NewEvent, NewHandoff, Subject};

/// What was wrong with a source event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// No status rule maps its status; its team change still applies.
    UnknownStatus,
    /// Its timestamp is missing or cannot be read; the event is skipped.
    BadTimestamp,
    /// It is earlier than the event before it; it is kept at that earlier
    /// event's time so the handoff's history stays in order.
    OutOfOrder,
    /// The case has no id or no readable event at all; the case is skipped.
    UnreadableCase,
}

impl AnomalyKind {
    /// The wire name, e.g. `unknown_status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownStatus => "unknown_status",
            Self::BadTimestamp => "bad_timestamp",
            Self::OutOfOrder => "out_of_order",
            Self::UnreadableCase => "unreadable_case",
        }
    }
}

/// A source event that could not be read as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    /// The case id (empty when the case has none).
    pub case: String,
    /// The file line the event starts on (0 when unknown).
    pub line: u64,
    /// What is wrong.
    pub kind: AnomalyKind,
    /// The offending value and what was done.
    pub detail: String,
}

/// One lifecycle action of an imported case, with the source event it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction {
    /// When (the source event's time).
    pub at: Timestamp,
    /// Who (the source event's assignee, or the import's actor).
    pub actor: String,
    /// What.
    pub action: Action,
    /// The source event's index in the case.
    pub source_event: usize,
    /// For a team change, the support lines `(from, to)`.
    pub lines: Option<(u8, u8)>,
}

/// A case read as a handoff.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseImport {
    /// The case id in the log.
    pub case_id: String,
    /// The handoff as created (state `pending`).
    pub created: Handoff,
    /// The actions after creation, in order.
    pub actions: Vec<PlannedAction>,
    /// Every event: `created` first, then one per action.
    pub events: Vec<NewEvent>,
    /// The handoff after the last action.
    pub handoff: Handoff,
    /// What could not be read as it stands.
    pub anomalies: Vec<Anomaly>,
    /// Source events read (including skipped ones).
    pub source_events: usize,
}

impl CaseImport {
    /// Sets the SLA deadlines `policy` gives the handoff's impact from its
    /// creation time, and the policy version, on the created and the final
    /// handoff (and the `created` event). An impact the policy does not
    /// declare gets no deadlines.
    pub fn apply_policy(&mut self, policy: &crate::policy::Policy) {
        let deadlines = policy.deadlines(self.created.impact.as_str(), self.created.created_at);
        for h in [&mut self.created, &mut self.handoff] {
            h.accept_by = deadlines.map(|d| d.accept_by);
            h.resolve_by = deadlines.map(|d| d.resolve_by);
            h.policy_version = Some(policy.version.clone());
        }
        if let Some(created) = self.events.first_mut() {
            created.data = serde_json::to_value(&self.created).unwrap_or(Value::Null);
        }
    }
}

/// A log's name as a [`crate::Label`]: lowercase, runs of other characters as
/// one `-`, at most 64 bytes; `unknown` when nothing is left.
pub fn label_of(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.trim().chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || "_.:".contains(c) {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-');
    let mut label: String = trimmed.chars().take(crate::Label::MAX_LEN).collect();
    if label.is_empty() {
        label.push_str("unknown");
    }
    label
}

/// A source event once read.
struct Read<'e> {
    index: usize,
    at: Timestamp,
    step: Option<Step>,
    group: Option<&'e str>,
    assignee: Option<&'e str>,
    sub_status: Option<&'e str>,
}

/// Reads `case` through `mapping` as handoff `id`, created by `actor`.
///
/// Pure and deterministic: the same case gives the same handoff and events.
///
/// # Errors
/// An [`AnomalyKind::UnreadableCase`] anomaly when the case has no id or no
/// event with a readable timestamp; a mapping whose defaults are not labels
/// gives the same, naming the field.
pub fn import_case(
    case: &Case,
    mapping: &MappingConfig,
    id: impl FnOnce(Timestamp) -> Uuid,
    actor: &str,
) -> Result<CaseImport, Anomaly> {
    let case_id = mapping.case_id(case).unwrap_or_default().to_owned();
    let unreadable = |detail: String| Anomaly {
        case: case_id.clone(),
        line: case.line(0),
        kind: AnomalyKind::UnreadableCase,
        detail,
    };
    if case_id.is_empty() {
        return Err(unreadable(format!(
            "no `{}` attribute: the case id is missing",
            mapping.case_id
        )));
    }
    let mut anomalies = Vec::new();
    let mut read: Vec<Read<'_>> = Vec::with_capacity(case.events.len());
    for (index, event) in case.events.iter().enumerate() {
        let anomaly = |kind, detail| Anomaly {
            case: case_id.clone(),
            line: case.line(index),
            kind,
            detail,
        };
        let mut at = match mapping.timestamp(event) {
            Ok(at) => at,
            Err(e) => {
                anomalies.push(anomaly(AnomalyKind::BadTimestamp, format!("{e}; skipped")));
                continue;
            }
        };
        if let Some(last) = read.last()
            && at < last.at
        {
            anomalies.push(anomaly(
                AnomalyKind::OutOfOrder,
                format!(
                    "{at} is before the previous event's {}; kept at {}",
                    last.at, last.at
                ),
            ));
            at = last.at;
        }
        let step = mapping.step(event);
        if step.is_none() {
            anomalies.push(anomaly(
                AnomalyKind::UnknownStatus,
                format!(
                    "status `{}`{} matches no status_rule; only its team change applies",
                    text(event, &mapping.status),
                    mapping
                        .sub_status
                        .as_ref()
                        .and_then(|k| event.get(k))
                        .map(|s| format!(" / `{s}`"))
                        .unwrap_or_default()
                ),
            ));
        }
        read.push(Read {
            index,
            at,
            step,
            group: mapping.group(event),
            assignee: mapping
                .assignee
                .as_ref()
                .and_then(|k| event.get(k))
                .map(String::as_str),
            sub_status: mapping
                .sub_status
                .as_ref()
                .and_then(|k| event.get(k))
                .map(String::as_str),
        });
    }
    let Some(first) = read.first() else {
        return Err(unreadable("no event with a readable timestamp".into()));
    };
    let defaults = &mapping.handoff;
    let impact = mapping
        .impact
        .as_ref()
        .and_then(|k| case.events.iter().rev().find_map(|e| e.get(k)))
        .map_or_else(|| defaults.impact.clone(), |i| label_of(i));
    let first_group = read.iter().find_map(|r| r.group).unwrap_or("unassigned");
    let mut payload = serde_json::Map::new();
    payload.insert("support_line".into(), json!(mapping.line_of(first_group)));
    payload.insert("source_group".into(), json!(first_group));
    let title_of = |k: &String| {
        case.attributes
            .get(k)
            .or_else(|| case.events.iter().find_map(|e| e.get(k)))
    };
    let title = match defaults.title.as_ref().and_then(title_of) {
        Some(t) => format!("{case_id}: {t}"),
        None => case_id.clone(),
    };
    let new = NewHandoff {
        workflow: defaults.workflow.clone(),
        subject: Subject {
            source: defaults.source.clone(),
            reference: case_id.clone(),
            url: None,
        },
        title,
        impact,
        reason: defaults.reason.clone(),
        tier: crate::Tier::Warm,
        owner_group: Some(label_of(first_group)),
        context: ContextPacket {
            summary: format!("imported from the event log, case {case_id}"),
            payload,
            ..ContextPacket::default()
        },
        callback_url: None,
    };
    let created_at = first.at;
    let created = new
        .into_handoff(id(created_at), "unassigned", actor, created_at)
        .map_err(|e| unreadable(format!("mapping [handoff]: {e}")))?;
    let mut walk = Walk {
        mapping,
        handoff: created.clone(),
        group_raw: first_group.to_owned(),
        actions: Vec::new(),
        events: vec![NewEvent {
            handoff_id: created.id,
            kind: crate::EventKind::Created,
            actor: actor.to_owned(),
            at: created_at,
            data: serde_json::to_value(&created).unwrap_or(Value::Null),
        }],
        actor,
    };
    for r in &read {
        walk.event(r)
            .map_err(|e| unreadable(format!("event {}: {e}", r.index + 1)))?;
    }
    Ok(CaseImport {
        case_id,
        created,
        actions: walk.actions,
        events: walk.events,
        handoff: walk.handoff,
        anomalies,
        source_events: case.events.len(),
    })
}

fn text<'a>(event: &'a Attributes, key: &str) -> &'a str {
    event.get(key).map_or("", String::as_str)
}

/// The handoff as the walk through a case has left it.
struct Walk<'m> {
    mapping: &'m MappingConfig,
    handoff: Handoff,
    group_raw: String,
    actions: Vec<PlannedAction>,
    events: Vec<NewEvent>,
    actor: &'m str,
}

impl Walk<'_> {
    fn event(&mut self, r: &Read<'_>) -> Result<(), DomainError> {
        use LifecycleState::*;
        let who = r.assignee.unwrap_or(self.actor).to_owned();
        if let Some(group) = r.group
            && group != self.group_raw
        {
            if !self.handoff.state.is_open() {
                self.reopen(r)?;
            }
            let (from, to) = (
                self.mapping.line_of(&self.group_raw),
                self.mapping.line_of(group),
            );
            let owner_group = label_of(group);
            let action = if to > from {
                Action::Escalate {
                    owner_group: Some(owner_group),
                    reason: "tier_escalation".into(),
                }
            } else {
                Action::Reassign {
                    owner_group,
                    reason: Some(
                        if to < from {
                            "bounce_back"
                        } else {
                            "team_change"
                        }
                        .into(),
                    ),
                }
            };
            self.act(r, &who, action, Some((from, to)))?;
            self.group_raw = group.to_owned();
        }
        let Some(step) = r.step else { return Ok(()) };
        let state = self.handoff.state;
        match step {
            Step::Pending => match state {
                InProgress => self.act(r, &who, Action::Release, None)?,
                Waiting => {
                    self.resume(r, &who)?;
                    self.act(r, &who, Action::Release, None)?;
                }
                Resolved | Closed => self.reopen(r)?,
                Pending | NeedsContext => {}
            },
            Step::Claimed => match state {
                Pending | NeedsContext => self.claim(r, &who)?,
                Waiting => self.resume(r, &who)?,
                InProgress => {
                    if r.assignee.is_some() && self.handoff.assignee.as_deref() != r.assignee {
                        self.act(r, &who, Action::Release, None)?;
                        self.claim(r, &who)?;
                    }
                }
                Resolved | Closed => {
                    self.reopen(r)?;
                    self.claim(r, &who)?;
                }
            },
            Step::Waiting => {
                match state {
                    Pending | NeedsContext => self.claim(r, &who)?,
                    Resolved | Closed => {
                        self.reopen(r)?;
                        self.claim(r, &who)?;
                    }
                    InProgress | Waiting => {}
                }
                if self.handoff.state == InProgress {
                    let question = r.sub_status.unwrap_or("waiting").to_owned();
                    self.act(r, &who, Action::RequestInfo { question }, None)?;
                }
            }
            Step::Resolved | Step::Closed => {
                match state {
                    Pending | NeedsContext => self.claim(r, &who)?,
                    Waiting => self.resume(r, &who)?,
                    Closed if step == Step::Resolved => {
                        self.reopen(r)?;
                        self.claim(r, &who)?;
                    }
                    InProgress | Resolved | Closed => {}
                }
                if self.handoff.state == InProgress {
                    let d = &self.mapping.handoff;
                    let input = ReceiptInput {
                        resolution: d.resolution,
                        resolution_reason: d.resolution_reason.clone(),
                        changes: Some(json!({ "log_status": r.sub_status })),
                        customer_note: None,
                        internal_note: None,
                    };
                    self.act(r, &who, Action::Resolve(input), None)?;
                }
                if step == Step::Closed && self.handoff.state == Resolved {
                    self.act(r, &who, Action::Close, None)?;
                }
            }
        }
        Ok(())
    }

    fn claim(&mut self, r: &Read<'_>, who: &str) -> Result<(), DomainError> {
        let assignee = who.to_owned();
        self.act(r, who, Action::Claim { assignee }, None)
    }

    fn resume(&mut self, r: &Read<'_>, who: &str) -> Result<(), DomainError> {
        let info = format!("resumed: {}", r.sub_status.unwrap_or("in progress"));
        self.act(r, who, Action::ProvideInfo { info }, None)
    }

    fn reopen(&mut self, r: &Read<'_>) -> Result<(), DomainError> {
        let reason = "reopened in the source log".to_owned();
        let who = r.assignee.unwrap_or(self.actor).to_owned();
        self.act(r, &who, Action::Reopen { reason }, None)
    }

    fn act(
        &mut self,
        r: &Read<'_>,
        who: &str,
        action: Action,
        lines: Option<(u8, u8)>,
    ) -> Result<(), DomainError> {
        let change = apply(&self.handoff, action.clone(), who, r.at)?;
        let mut data = change.data;
        if let Value::Object(map) = &mut data {
            if let Some((from, to)) = lines {
                map.insert("from_line".into(), json!(from));
                map.insert("to_line".into(), json!(to));
            }
            map.insert("source_event".into(), json!(r.index + 1));
        }
        self.events.push(NewEvent {
            handoff_id: self.handoff.id,
            kind: change.kind,
            actor: who.to_owned(),
            at: r.at,
            data,
        });
        self.actions.push(PlannedAction {
            at: r.at,
            actor: who.to_owned(),
            action,
            source_event: r.index,
            lines,
        });
        self.handoff = change.handoff;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
