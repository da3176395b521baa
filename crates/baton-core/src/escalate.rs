//! Running an escalation chain on one handoff: which level is next, when it
//! falls due, and what firing it does (raise the impact, reassign, act on
//! its own, notify channels and fan out to roles).
//!
//! Stop rules (docs/escalation.md): the chain is chosen at creation (the
//! first `[[escalation]]` whose `when` matches). Levels that wait on the
//! time to accept (`accept_reminder`, `accept_breach`, or a delay) belong to
//! acceptance: the claim skips them, and the chain goes on only with levels
//! on `resolve_reminder`/`resolve_breach`. Resolving or closing ends the
//! chain; a reopen runs it again from level 1 for the new cycle. A level on
//! an SLA event waits while that clock is paused. A stopped chain arms
//! nothing, so it never notifies again.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::clocks::{ClockState, Which};
use crate::policy::Policy;
use crate::policy::escalation::{
    AutoAction, EscalationChain, EscalationLevel, LevelStart, SlaEvent,
};
use crate::receipt::{ClosureReceipt, Resolution};
use crate::{AiOutputState, EventKind, Handoff, Label, LifecycleState};

/// Where a handoff is in its escalation chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ChainProgress {
    /// The chain's id.
    pub chain: String,
    /// The next level to fire, from 0.
    pub level: usize,
    /// How often the next level already fired (its repeats so far).
    pub repeats_done: u32,
    /// When a level last fired.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub last_fired_at: Option<Timestamp>,
    /// When this run of the chain started (creation, or the reopen).
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    /// Whether the chain has stopped for this cycle.
    pub done: bool,
}

fn acceptance(level: &EscalationLevel) -> bool {
    !matches!(
        level.after,
        LevelStart::Sla(SlaEvent::ResolveReminder | SlaEvent::ResolveBreach)
    )
}

/// The chain of `progress` in `policy` (none if the policy no longer has it).
pub fn chain<'p>(policy: &'p Policy, progress: &ChainProgress) -> Option<&'p EscalationChain> {
    policy.escalations().iter().find(|c| c.id == progress.chain)
}

/// Starts the chain that applies to a new handoff, if any.
pub fn start(handoff: &mut Handoff, policy: &Policy, now: Timestamp) {
    let payload = Value::Object(handoff.context.payload.clone());
    handoff.escalation = policy
        .escalation_for(
            handoff.workflow.as_str(),
            handoff.impact.as_str(),
            handoff.reason.as_str(),
            handoff.tier.as_str(),
            &handoff.title,
            &payload,
        )
        .map(|c| ChainProgress {
            chain: c.id.clone(),
            level: 0,
            repeats_done: 0,
            last_fired_at: None,
            started_at: now,
            done: c.levels.is_empty(),
        });
}

/// Applies the stop rules to `after` for a change recorded as `kind`.
pub fn follow(
    before: &Handoff,
    after: &mut Handoff,
    kind: EventKind,
    policy: &Policy,
    now: Timestamp,
) {
    let reopened = matches!(
        before.state,
        LifecycleState::Resolved | LifecycleState::Closed
    ) && after.state.is_open();
    let Some(progress) = after.escalation.as_mut() else {
        return;
    };
    if reopened {
        progress.level = 0;
        progress.repeats_done = 0;
        progress.last_fired_at = None;
        progress.started_at = now;
        progress.done = false;
        return;
    }
    if matches!(
        after.state,
        LifecycleState::Resolved | LifecycleState::Closed
    ) {
        progress.done = true;
        return;
    }
    if kind == EventKind::Claimed
        && let Some(chain) = chain(policy, progress)
    {
        let rest = chain
            .levels
            .iter()
            .skip(progress.level)
            .position(|l| !acceptance(l));
        match rest {
            Some(skip) if skip > 0 => {
                progress.level += skip;
                progress.repeats_done = 0;
            }
            Some(_) => {}
            None => progress.done = true,
        }
    }
}

/// When the next level of `handoff`'s chain falls due, if it is armed: not
/// while the chain is done, or the level waits on a clock that is not
/// running.
pub fn next_due(handoff: &Handoff, policy: &Policy) -> Option<(usize, Timestamp)> {
    let progress = handoff.escalation.as_ref().filter(|p| !p.done)?;
    if !handoff.state.is_open() {
        return None;
    }
    let level = chain(policy, progress)?.levels.get(progress.level)?;
    if progress.repeats_done > 0 {
        let every = level.every?;
        return Some((
            progress.level,
            progress.last_fired_at?.saturating_add(every).ok()?,
        ));
    }
    let due = match level.after {
        LevelStart::Elapsed(delay) => progress
            .last_fired_at
            .unwrap_or(progress.started_at)
            .saturating_add(delay)
            .ok()?,
        LevelStart::Sla(event) => {
            let clocks = handoff.clocks.as_ref()?;
            let impact = policy.impact(handoff.impact.as_str())?;
            let calendar = policy.calendar_for(handoff.impact.as_str());
            let which = match event {
                SlaEvent::AcceptReminder | SlaEvent::AcceptBreach => Which::Accept,
                SlaEvent::ResolveReminder | SlaEvent::ResolveBreach => Which::Resolve,
            };
            let clock = clocks.get(which);
            if clock.state != ClockState::Running {
                return None;
            }
            match event {
                SlaEvent::AcceptReminder | SlaEvent::ResolveReminder => {
                    clock.timer.reminder_at(&calendar, impact.reminder_at)?
                }
                SlaEvent::AcceptBreach | SlaEvent::ResolveBreach => {
                    clock.timer.deadline(&calendar)?
                }
            }
        }
    };
    Some((progress.level, due))
}

/// What firing a level did, for the reaction.
#[derive(Debug, Clone, PartialEq)]
pub struct LevelFired {
    /// Events to append: `escalated`, then `resolved` for an automatic decision.
    pub events: Vec<(EventKind, Value)>,
    /// The level that fired (for its channels and fan-out).
    pub level: EscalationLevel,
    /// The chain's id.
    pub chain: String,
    /// The actor of its events: `policy:<chain id>`.
    pub actor: String,
}

/// Fires the next level of `h`'s chain at `now` (due at `due_at`): applies
/// its actions to `h` and advances the chain. `None` if there is no level to
/// fire (the caller checked it is due).
pub fn fire_level(
    h: &mut Handoff,
    policy: &Policy,
    due_at: Timestamp,
    now: Timestamp,
) -> Option<LevelFired> {
    let mut progress = h.escalation.clone()?;
    let chain = chain(policy, &progress)?;
    let level = chain.levels.get(progress.level)?.clone();
    let actor = format!("policy:{}", chain.id);
    let from_group = h.owner_group.clone();
    let from_impact = h.impact.clone();
    if let Some(impact) = &level.raise_impact
        && let Ok(label) = Label::parse("raise_impact", impact)
    {
        h.impact = label;
    }
    let route = match &level.auto {
        Some(AutoAction::Route(group)) => Some(group),
        _ => level.reassign.as_ref(),
    };
    if let Some(group) = route
        && let Ok(label) = Label::parse("reassign", group)
    {
        h.owner_group = label;
        h.state = LifecycleState::Pending;
        h.assignee = None;
    }
    if h.ai_state == AiOutputState::Proposed {
        h.ai_state = AiOutputState::Escalated;
    }
    h.escalation_count += 1;
    h.updated_at = now;
    let mut events = vec![(
        EventKind::Escalated,
        json!({
            "chain": chain.id,
            "level": level.index + 1,
            "repeat": progress.repeats_done,
            "rule": format!("escalation:{}", chain.id),
            "due_at": due_at,
            "late_by_ms": crate::react::late_by_ms(due_at, now),
            "from": from_group,
            "to": h.owner_group,
            "impact": { "from": from_impact, "to": h.impact },
            "notified": level.notify,
            "fanout": level.fanout.iter().map(|f| f.role.as_str()).collect::<Vec<_>>(),
            "auto": level.auto.as_ref().map(auto_name),
        }),
    )];
    if progress.repeats_done < level.repeat {
        progress.repeats_done += 1;
    } else {
        progress.level += 1;
        progress.repeats_done = 0;
        progress.done = progress.level >= chain.levels.len();
    }
    progress.last_fired_at = Some(now);
    h.escalation = Some(progress);
    let decision = match level.auto {
        Some(AutoAction::Approve) => Some(Resolution::Approved),
        Some(AutoAction::Reject) => Some(Resolution::Rejected),
        _ => None,
    };
    if let Some(resolution) = decision
        && h.state.is_open()
    {
        let receipt = ClosureReceipt {
            decided_by: actor.clone(),
            resolution,
            resolution_reason: Label::parse("resolution_reason", "timeout").ok()?,
            changes: None,
            customer_note: None,
            internal_note: Some(format!(
                "decided automatically: level {} of escalation chain {} timed out",
                level.index + 1,
                chain.id
            )),
            resolved_at: now,
            automatic: true,
        };
        h.state = LifecycleState::Resolved;
        h.resolved_at = Some(now);
        h.assignee = None;
        h.ai_state = match resolution {
            Resolution::Approved => AiOutputState::Approved,
            _ => AiOutputState::Rejected,
        };
        if let Some(p) = h.escalation.as_mut() {
            p.done = true;
        }
        events.push((
            EventKind::Resolved,
            serde_json::to_value(&receipt).unwrap_or(Value::Null),
        ));
        h.receipt = Some(receipt);
    }
    Some(LevelFired {
        events,
        level,
        chain: chain.id.clone(),
        actor,
    })
}

fn auto_name(auto: &AutoAction) -> String {
    match auto {
        AutoAction::Approve => "approve".to_owned(),
        AutoAction::Reject => "reject".to_owned(),
        AutoAction::Route(group) => format!("route:{group}"),
    }
}

#[cfg(test)]
#[path = "escalate/tests.rs"]
mod tests;
