//! The pure admission and reaction step: a new handoff, an action on one or a
//! due timer, with the policy and `now`, in; the handoff after it and its
//! effects (events to append, the timers it needs) out.
//!
//! The store's writer carries a [`Reaction`] out in one transaction: it
//! updates the handoff, appends the events to the hash chain and replaces
//! the handoff's timers with [`Reaction::timers`]; so a timer is armed or
//! cancelled exactly when the change that causes it commits.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::clocks::{self, Which};
use crate::escalate;
use crate::notify::{Notification, notifications};
use crate::policy::contract::ContractViolation;
use crate::policy::escalation::EscalationLevel;
use crate::policy::{OnIncomplete, PayloadCheck, Policy};
use crate::timers::{Timer, TimerKind, due_timers};
use crate::{Action, DomainError, EventKind, Handoff, LifecycleState, NewHandoff, lifecycle};

/// Who is behind a timer's firing, in events' `actor`.
pub const SCHEDULER: &str = "scheduler";

/// A handoff after a change, and the change's effects.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    /// The handoff after the change.
    pub handoff: Handoff,
    /// Events to append to its stream, in order: `(kind, data)`.
    pub events: Vec<(EventKind, Value)>,
    /// Every timer the handoff needs from now on (replaces what was armed).
    pub timers: Vec<Timer>,
    /// Messages to send, one outbox delivery each.
    pub notifications: Vec<Notification>,
    /// Who the events are by when no person is: [`SCHEDULER`] for SLA
    /// reminders and breaches, `policy:<chain>` for escalation levels.
    pub actor: Option<String>,
}

/// Why admission refused a new handoff.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdmitError {
    /// A field is bad, or names something the policy does not declare.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// `field` names something the policy does not declare; `declared`
    /// lists what it does.
    #[error("{field}: {message}")]
    Undeclared {
        /// `workflow` or `owner_group`.
        field: &'static str,
        /// What is wrong and the fix.
        message: String,
        /// The declared names.
        declared: Vec<String>,
    },
    /// The payload misses the workflow's contract and the workflow rejects
    /// incomplete payloads.
    #[error("the payload misses the {workflow} workflow's contract")]
    Contract {
        /// The workflow.
        workflow: String,
        /// Every missing or invalid field.
        violations: Vec<ContractViolation>,
    },
}

/// `workflow` is not declared: the error, listing the declared ones.
pub fn undeclared_workflow(policy: &Policy, workflow: &str) -> AdmitError {
    let declared: Vec<String> = policy
        .workflow_names()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    AdmitError::Undeclared {
        field: "workflow",
        message: format!(
            "{workflow} is not a declared workflow; use one of {}",
            declared.join(", ")
        ),
        declared,
    }
}

/// `group` is not a declared owner group: the error, listing the declared ones.
pub fn undeclared_group(policy: &Policy, group: &str) -> AdmitError {
    let declared: Vec<String> = policy
        .group_names()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    AdmitError::Undeclared {
        field: "owner_group",
        message: format!(
            "{group} is not a declared owner group; use one of {}",
            declared.join(", ")
        ),
        declared,
    }
}

/// Admits a new handoff: checks the workflow, owner group, handoff reason
/// and customer impact against the policy, routes it unless the caller
/// named a group, checks the payload contract (parking it in
/// `needs_context` where the workflow says so), starts its SLA clocks and
/// arms their timers. `id` is the new handoff's UUIDv7; `created_by` the
/// caller's token name.
///
/// # Errors
/// [`AdmitError`] naming the field and the fix.
pub fn admit(
    new: NewHandoff,
    id: Uuid,
    created_by: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<Reaction, AdmitError> {
    if let Some(group) = &new.owner_group
        && policy.group(group).is_none()
    {
        return Err(undeclared_group(policy, group));
    }
    if policy.workflow(&new.workflow).is_none() {
        return Err(undeclared_workflow(policy, &new.workflow));
    }
    let payload = Value::Object(new.context.payload.clone());
    let route = new.owner_group.is_none().then(|| {
        policy.route(
            &new.workflow,
            &new.impact,
            &new.reason,
            new.tier.as_str(),
            &new.title,
            &payload,
        )
    });
    let group = route.as_ref().map_or("", |r| r.group.as_str()).to_owned();
    let mut handoff = new.into_handoff(id, &group, created_by, now)?;
    if !policy.is_handoff_reason(handoff.reason.as_str()) {
        let codes: Vec<&str> = policy
            .handoff_reasons()
            .keys()
            .map(String::as_str)
            .collect();
        return Err(DomainError::invalid(
            "reason",
            format!(
                "{} is not a declared handoff reason; use one of {}",
                handoff.reason,
                codes.join(", ")
            ),
        )
        .into());
    }
    if policy.impact(handoff.impact.as_str()).is_none() {
        return Err(DomainError::invalid(
            "impact",
            format!(
                "{} is not a declared customer impact; use one of {}",
                handoff.impact,
                policy.impact_names().join(", ")
            ),
        )
        .into());
    }
    if let PayloadCheck::Incomplete {
        violations,
        on_incomplete,
    } = policy.check_payload(handoff.workflow.as_str(), &payload)
    {
        match on_incomplete {
            OnIncomplete::Reject => {
                return Err(AdmitError::Contract {
                    workflow: handoff.workflow.to_string(),
                    violations,
                });
            }
            OnIncomplete::NeedsContext => {
                handoff.state = LifecycleState::NeedsContext;
                handoff.missing_fields = violations.into_iter().map(|v| v.field).collect();
            }
        }
    }
    handoff.route_rule = Some(route.map_or_else(|| "caller".to_owned(), |r| r.rule));
    if handoff.callback_url.is_none() {
        handoff.callback_url = policy
            .workflow(handoff.workflow.as_str())
            .and_then(|w| w.callback_url.clone());
    }
    handoff.policy_version = Some(policy.version.clone());
    clocks::follow(None, &mut handoff, EventKind::Created, policy, now);
    escalate::start(&mut handoff, policy, now);
    let data = serde_json::to_value(&handoff).unwrap_or(Value::Null);
    let events = vec![(EventKind::Created, data)];
    Ok(Reaction::settle(handoff, events, None, policy, now, None))
}

/// The claim tokens an action is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The token stored with the handoff, while claimed.
    pub stored: Option<&'a str>,
    /// The token the caller presented.
    pub presented: Option<&'a str>,
    /// A new random token, handed out if the action is a claim.
    pub fresh: &'a str,
}

/// Why an action was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActError {
    /// The lifecycle refuses it, or its input is bad.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The item is claimed and the caller did not present its claim token.
    #[error("the claim token does not match the handoff's current claim")]
    ClaimMismatch,
}

/// An action's reaction, and the claim token the handoff holds after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    /// The handoff, its events and timers.
    pub reaction: Reaction,
    /// The claim token to store (`None` once unclaimed).
    pub claim_token: Option<String>,
    /// Whether the action handed out a new claim token.
    pub fresh_claim: bool,
}

/// Applies `action` by `actor` at `now`: the claim-token rule (an action
/// that needs the claim, on a claimed item, must present its token), the
/// lifecycle transition, the clocks and the timers.
///
/// # Errors
/// [`ActError::ClaimMismatch`], or the lifecycle's refusal.
pub fn act(
    handoff: &Handoff,
    action: Action,
    actor: &str,
    claim: Claim<'_>,
    policy: &Policy,
    now: Timestamp,
) -> Result<Acted, ActError> {
    if action.needs_claim()
        && matches!(
            handoff.state,
            LifecycleState::InProgress | LifecycleState::Waiting
        )
        && (claim.stored.is_none() || claim.stored != claim.presented)
    {
        return Err(ActError::ClaimMismatch);
    }
    let fresh_claim = matches!(action, Action::Claim { .. });
    let change = lifecycle::apply(handoff, action, actor, now)?;
    let mut after = change.handoff;
    clocks::follow(Some(handoff), &mut after, change.kind, policy, now);
    escalate::follow(handoff, &mut after, change.kind, policy, now);
    settle_offer(&mut after);
    let claim_token = match after.state {
        _ if fresh_claim => Some(claim.fresh.to_owned()),
        LifecycleState::InProgress | LifecycleState::Waiting => claim.stored.map(str::to_owned),
        _ => None,
    };
    let events = vec![(change.kind, change.data)];
    Ok(Acted {
        reaction: Reaction::settle(after, events, None, policy, now, None),
        claim_token,
        fresh_claim,
    })
}

/// Fires `timer` at `now`, if the handoff still needs it and it is due.
///
/// Returns the handoff with the firing recorded and an `sla_warned` or
/// `sla_breached` event (data: `clock`, `due_at`, `late_by_ms`, `rule`,
/// `cycle`), or — when the timer is stale (the clock stopped, paused or
/// moved since it was armed) — the handoff unchanged, no event, and the
/// timers it needs now. Never fires before the clock's own deadline.
pub fn fire(handoff: &Handoff, timer: &Timer, policy: &Policy, now: Timestamp) -> Reaction {
    let needed = due_timers(handoff, policy);
    let live = needed
        .iter()
        .find(|t| t.kind == timer.kind && t.level == timer.level && t.due_at <= now)
        .copied();
    let Some(live) = live else {
        return unchanged(handoff, needed);
    };
    if timer.kind == TimerKind::AssignmentExpiry {
        return expire_assignment(handoff, &live, policy, now);
    }
    let Some(which) = timer.kind.clock() else {
        if live.kind == TimerKind::NextUpdate {
            return fire_update_due(handoff, &live, policy, now);
        }
        return fire_escalation(handoff, &live, policy, now);
    };
    let Some(mut clocks) = handoff.clocks.clone() else {
        return unchanged(handoff, needed);
    };
    let calendar = policy.calendar_for(handoff.impact.as_str());
    let clock = clocks.get_mut(which);
    let breached = clock.is_breached(&calendar, now);
    let mut events = Vec::new();
    let event = |kind: EventKind| {
        (
            kind,
            json!({
                "clock": which.as_str(),
                "due_at": live.due_at,
                "late_by_ms": late_by_ms(live.due_at, now),
                "rule": format!("impact:{}", handoff.impact),
                "cycle": clocks_cycle(handoff),
            }),
        )
    };
    if timer.kind.is_breach() {
        clock.breach_fired = true;
        clock.reminded = true;
        events.push(event(EventKind::SlaBreached));
    } else {
        clock.reminded = true;
        if !breached {
            events.push(event(EventKind::SlaWarned));
        }
    }
    let mut after = handoff.clone();
    after.clocks = Some(clocks);
    if !events.is_empty() {
        after.updated_at = now;
    }
    Reaction::settle(after, events, None, policy, now, Some(SCHEDULER.to_owned()))
}

impl Reaction {
    /// The reaction of `events`, which left the handoff as `after`: the
    /// timers it needs from now on and the notifications the events cause
    /// (`level`: the escalation level they come from, if any).
    fn settle(
        after: Handoff,
        events: Vec<(EventKind, Value)>,
        level: Option<&EscalationLevel>,
        policy: &Policy,
        now: Timestamp,
        actor: Option<String>,
    ) -> Self {
        Self {
            timers: due_timers(&after, policy),
            notifications: notifications(&after, &events, level, policy, now),
            handoff: after,
            events,
            actor,
        }
    }
}

/// How late a firing at `now` is for a timer due at `due_at`, in
/// milliseconds (0 when on time).
pub(crate) fn late_by_ms(due_at: Timestamp, now: Timestamp) -> i128 {
    now.duration_since(due_at)
        .max(SignedDuration::ZERO)
        .as_millis()
}

/// Nothing to fire: the handoff as it is, and the timers it needs.
fn unchanged(handoff: &Handoff, timers: Vec<Timer>) -> Reaction {
    Reaction {
        handoff: handoff.clone(),
        events: Vec::new(),
        timers,
        notifications: Vec::new(),
        actor: None,
    }
}

/// The promised customer update is due: records `update_due` once (the
/// promise is cleared; the next customer-safe note may promise again).
fn fire_update_due(handoff: &Handoff, live: &Timer, policy: &Policy, now: Timestamp) -> Reaction {
    let mut after = handoff.clone();
    after.next_update_at = None;
    after.updated_at = now;
    let events = vec![(
        EventKind::UpdateDue,
        json!({
            "promised_at": live.due_at,
            "late_by_ms": late_by_ms(live.due_at, now),
            "rule": "next_update",
        }),
    )];
    Reaction::settle(after, events, None, policy, now, Some(SCHEDULER.to_owned()))
}

/// Fires the due level of the handoff's escalation chain.
fn fire_escalation(handoff: &Handoff, live: &Timer, policy: &Policy, now: Timestamp) -> Reaction {
    debug_assert_eq!(live.kind, TimerKind::Escalation);
    let mut after = handoff.clone();
    let Some(fired) = escalate::fire_level(&mut after, policy, live.due_at, now) else {
        return unchanged(handoff, due_timers(handoff, policy));
    };
    let kind = fired
        .events
        .last()
        .map_or(EventKind::Escalated, |(k, _)| *k);
    clocks::follow(Some(handoff), &mut after, kind, policy, now);
    settle_offer(&mut after);
    Reaction::settle(
        after,
        fired.events,
        Some(&fired.level),
        policy,
        now,
        Some(fired.actor),
    )
}

/// Offers `handoff` (still `pending` and unassigned) to `assignee`, a
/// reviewer of its group, at `now`: sets `assignee` and `assigned_at`,
/// records an `assigned` event (data: `assignee`, `strategy`,
/// `accept_within_ms`, `expires_at`) and arms the offer's expiry
/// ([`TimerKind::AssignmentExpiry`]). The item stays `pending`: a claim
/// takes it as usual.
///
/// # Errors
/// [`DomainError::IllegalTransition`] unless it is `pending`;
/// [`DomainError::Invalid`] (field `assignee`) if it already has an
/// assignee or `assignee` is empty.
pub fn assign(
    handoff: &Handoff,
    assignee: &str,
    strategy: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<Reaction, DomainError> {
    if handoff.state != LifecycleState::Pending {
        return Err(DomainError::IllegalTransition {
            state: handoff.state,
            action: "assign",
        });
    }
    if let Some(holder) = &handoff.assignee {
        return Err(DomainError::invalid(
            "assignee",
            format!("the handoff is already assigned to {holder}"),
        ));
    }
    if assignee.trim().is_empty() {
        return Err(DomainError::invalid("assignee", "must not be empty"));
    }
    let mut after = handoff.clone();
    after.assignee = Some(assignee.to_owned());
    after.assigned_at = Some(now);
    after.updated_at = now;
    let expires_at = crate::timers::assignment_expires_at(&after, policy);
    let accept_within = policy
        .impact(handoff.impact.as_str())
        .map(|i| i.accept_within.as_millis());
    let events = vec![(
        EventKind::Assigned,
        json!({
            "assignee": assignee,
            "strategy": strategy,
            "accept_within_ms": accept_within,
            "expires_at": expires_at,
        }),
    )];
    Ok(Reaction::settle(
        after,
        events,
        None,
        policy,
        now,
        Some(SCHEDULER.to_owned()),
    ))
}

/// The offer ran out unclaimed: the item goes back to the queue with no
/// assignee, and an `assignment_expired` event by [`SCHEDULER`].
fn expire_assignment(handoff: &Handoff, live: &Timer, policy: &Policy, now: Timestamp) -> Reaction {
    let mut after = handoff.clone();
    let assignee = after.assignee.take();
    let assigned_at = after.assigned_at.take();
    after.updated_at = now;
    let events = vec![(
        EventKind::AssignmentExpired,
        json!({
            "assignee": assignee,
            "assigned_at": assigned_at,
            "due_at": live.due_at,
            "late_by_ms": late_by_ms(live.due_at, now),
        }),
    )];
    Reaction::settle(after, events, None, policy, now, Some(SCHEDULER.to_owned()))
}

/// An offer lives only while the item is `pending` with its assignee: a
/// claim, a release, a move to another group ends it.
fn settle_offer(handoff: &mut Handoff) {
    if handoff.state != LifecycleState::Pending || handoff.assignee.is_none() {
        handoff.assigned_at = None;
    }
}

fn clocks_cycle(handoff: &Handoff) -> u32 {
    handoff.clocks.as_ref().map_or(0, |c| c.cycle)
}

/// Whether `which` clock of `handoff` is breached at `now` (when stopped:
/// when it stopped), by the live clock; `None` without clocks or for an
/// undeclared impact.
pub fn breached(handoff: &Handoff, which: Which, policy: &Policy, now: Timestamp) -> Option<bool> {
    let clocks = handoff.clocks.as_ref()?;
    policy.impact(handoff.impact.as_str())?;
    let calendar = policy.calendar_for(handoff.impact.as_str());
    Some(clocks.get(which).is_breached(&calendar, now))
}

/// The clocks of `after` (the handoff after a change at `now`) that this
/// change stopped, each with whether it stopped breached
/// ([`SlaClock::is_breached`](crate::clocks::SlaClock::is_breached)): what
/// `/metrics` counts at a claim (accept) or a resolution (resolve). A claim
/// after a release stops nothing (the accept clock stopped at the first
/// claim of the cycle). `None` without clocks or for an undeclared impact.
pub fn stopped(after: &Handoff, policy: &Policy, now: Timestamp) -> Option<Vec<(Which, bool)>> {
    let clocks = after.clocks.as_ref()?;
    policy.impact(after.impact.as_str())?;
    let calendar = policy.calendar_for(after.impact.as_str());
    // Stores keep microseconds; `now` may carry nanoseconds, or the reverse.
    let micros = now.as_microsecond();
    Some(
        Which::BOTH
            .into_iter()
            .filter(|w| {
                let clock = clocks.get(*w);
                clock.state == clocks::ClockState::Stopped
                    && clock.stopped_at.map(|at| at.as_microsecond()) == Some(micros)
            })
            .map(|w| (w, clocks.get(w).is_breached(&calendar, now)))
            .collect(),
    )
}

#[cfg(test)]
#[path = "react/tests.rs"]
mod tests;
