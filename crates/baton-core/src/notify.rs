//! Notifications as effects: which channels hear about a reaction's events,
//! and the JSON each delivery carries.
//!
//! A channel hears an event when its `events` list wants it
//! ([`crate::policy::Channel::wants`]); an escalation level's `notify`
//! channels hear its `escalated` event whatever their list says, and each
//! fan-out role gets it on its own channel with only its share of the
//! context packet. The server writes one delivery per notification in the
//! outbox, in the transaction of the change.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::policy::escalation::EscalationLevel;
use crate::policy::{NotifyOn, Policy};
use crate::{EventKind, Handoff, Tier};

/// One message to send on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The channel's name in the policy.
    pub channel: String,
    /// What it tells, e.g. `breach`.
    pub event: String,
    /// The fan-out role it is for, if any.
    pub role: Option<String>,
    /// The message: `{type, timestamp, data: {handoff, event, role?, context?}}`
    /// (the Standard Webhooks payload shape).
    pub payload: Value,
}

/// The channel event an event kind is, if any channel can want it.
pub fn notify_on(kind: EventKind, data: &Value, handoff: &Handoff) -> Option<NotifyOn> {
    Some(match kind {
        EventKind::Created => match handoff.tier {
            Tier::Warm => NotifyOn::CreatedWarm,
            Tier::Immediate => NotifyOn::CreatedImmediate,
        },
        EventKind::Claimed | EventKind::Assigned => NotifyOn::Assigned,
        EventKind::SlaWarned | EventKind::UpdateDue => NotifyOn::Reminder,
        EventKind::SlaBreached => NotifyOn::Breach,
        EventKind::Escalated => NotifyOn::Escalated,
        EventKind::Resolved => NotifyOn::Resolved,
        EventKind::Reopened => NotifyOn::Reopened,
        EventKind::ExecutionReported if data["outcome"] == "executed" => NotifyOn::Executed,
        _ => return None,
    })
}

/// The handoff as a notification shows it: no context packet.
fn summary(h: &Handoff) -> Value {
    json!({
        "id": h.id,
        "title": h.title,
        "workflow": h.workflow,
        "impact": h.impact,
        "reason": h.reason,
        "tier": h.tier,
        "owner_group": h.owner_group,
        "state": h.state,
        "assignee": h.assignee,
        "created_at": h.created_at,
        "accept_by": h.accept_by,
        "resolve_by": h.resolve_by,
        "subject": h.subject,
    })
}

/// The notifications of `events` (just recorded on `handoff`, now in the
/// state after them) at `now`; `level` is the escalation level that fired,
/// if the events come from one.
pub fn notifications(
    handoff: &Handoff,
    events: &[(EventKind, Value)],
    level: Option<&EscalationLevel>,
    policy: &Policy,
    now: Timestamp,
) -> Vec<Notification> {
    let mut out = Vec::new();
    for (kind, data) in events {
        let Some(on) = notify_on(*kind, data, handoff) else {
            continue;
        };
        let payload = |extra: Option<(&str, Value)>| {
            let mut data = json!({
                "handoff": summary(handoff),
                "event": { "kind": kind, "data": data },
            });
            if let Some((role, context)) = extra {
                data["role"] = json!(role);
                data["context"] = context;
            }
            json!({ "type": format!("handoff.{}", kind.as_str()), "timestamp": now, "data": data })
        };
        let explicit: &[String] = match (kind, level) {
            (EventKind::Escalated, Some(level)) => &level.notify,
            _ => &[],
        };
        for channel in policy.channels() {
            if channel.wants(on) || explicit.contains(&channel.name) {
                out.push(Notification {
                    channel: channel.name.clone(),
                    event: on.as_str().to_owned(),
                    role: None,
                    payload: payload(None),
                });
            }
        }
        if let (EventKind::Escalated, Some(level)) = (kind, level) {
            for fan in &level.fanout {
                out.push(Notification {
                    channel: fan.channel.clone(),
                    event: on.as_str().to_owned(),
                    role: Some(fan.role.clone()),
                    payload: payload(Some((&fan.role, fan.context_for(&handoff.context)))),
                });
            }
        }
    }
    out
}
