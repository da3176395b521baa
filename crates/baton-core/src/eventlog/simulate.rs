//! A log run offline through a policy: which owner group the policy would
//! have chosen, and which deadlines, reminders and breaches would have fired
//! given the real human timings.
//!
//! Each case becomes a [`Timeline`] (the handoff as created and its
//! lifecycle changes); [`simulate`] runs every timeline through the live
//! SLA clocks of the policy's customer impacts, as the server would have:
//! `clocks::follow` at each change, and in between the reminders and
//! breaches `timers::due_timers` arms and `react::fire` fires
//! ([`ClockRun`]). A breach is the one definition of docs/sla-clocks.md
//! ([`crate::clocks::SlaClock::is_breached`]), counted per clock cycle: a
//! reopen starts a new cycle that can breach again. Items still open are
//! judged at the log's end.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::CaseImport;
use crate::clocks::{ClockRun, Which, state_after};
use crate::policy::Policy;
use crate::{ContextPacket, EventKind, Handoff, LifecycleState};

/// The timings of one case that a policy is judged against.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    /// Workflow label.
    pub workflow: String,
    /// Customer impact label.
    pub impact: String,
    /// Handoff reason label.
    pub reason: String,
    /// Title.
    pub title: String,
    /// The context payload (routing facts).
    pub payload: Value,
    /// The owner group the log gave it first.
    pub log_group: String,
    /// The handoff as created, without its context (the clocks' start).
    pub created: Handoff,
    /// Each event that changed its lifecycle state: kind, time, state after.
    pub changes: Vec<(EventKind, Timestamp, LifecycleState)>,
    /// Its last event.
    pub last_at: Timestamp,
}

impl Timeline {
    /// The timeline of an imported case.
    pub fn of(case: &CaseImport) -> Self {
        Self::from_events(
            &case.created,
            case.events.iter().map(|e| (e.kind, e.at, &e.data)),
        )
    }

    /// The timeline of a handoff as created and its events after that
    /// (kind, time, data; a `created` event among them is skipped).
    pub fn from_events<'e>(
        h: &Handoff,
        events: impl IntoIterator<Item = (EventKind, Timestamp, &'e Value)>,
    ) -> Self {
        let mut state = h.state;
        let mut changes = Vec::new();
        let mut last_at = h.created_at;
        for (kind, at, data) in events {
            last_at = at;
            if kind == EventKind::Created {
                continue;
            }
            let after = state_after(state, kind, data);
            if after != state {
                changes.push((kind, at, after));
                state = after;
            }
        }
        let mut created = h.clone();
        created.context = ContextPacket::default();
        Self {
            workflow: h.workflow.to_string(),
            impact: h.impact.to_string(),
            reason: h.reason.to_string(),
            title: h.title.clone(),
            payload: Value::Object(h.context.payload.clone()),
            log_group: h.owner_group.to_string(),
            created,
            changes,
            last_at,
        }
    }

    /// Runs the timeline's changes through `policy`'s live clocks, firing
    /// reminders and breaches in between, up to `end` for an item still
    /// open; `None` for an impact the policy does not declare.
    pub fn run(&self, policy: &Policy, end: Timestamp) -> Option<ClockRun> {
        let mut run = ClockRun::start(&self.created, policy)?;
        for (kind, at, state) in &self.changes {
            run.fire_until(policy, *at);
            run.change(*kind, *state, policy, *at);
        }
        run.fire_until(policy, end);
        Some(run)
    }
}

/// Deadlines, reminders and breaches of one customer impact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImpactOutcome {
    /// Items of this impact.
    pub items: u64,
    /// Items the policy gives no deadlines (impact not declared).
    pub without_sla: u64,
    /// Accept reminders that would have fired (`sla_warned`).
    pub accept_reminders: u64,
    /// Accept clock cycles breached (one per item unless reopened).
    pub accept_breaches: u64,
    /// Resolve reminders that would have fired (`sla_warned`).
    pub resolve_reminders: u64,
    /// Resolve clock cycles breached (one per item unless reopened).
    pub resolve_breaches: u64,
}

/// What a policy would have done with a whole log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Simulation {
    /// The policy's version.
    pub policy_version: String,
    /// Items judged.
    pub items: u64,
    /// Per customer impact.
    pub by_impact: BTreeMap<String, ImpactOutcome>,
    /// Items per owner group the policy's routes choose.
    pub by_group: BTreeMap<String, u64>,
    /// Items per route rule that chose the group.
    pub by_rule: BTreeMap<String, u64>,
    /// Items each escalation level (from 1) would have reached, whatever
    /// the chain.
    pub escalated_items: BTreeMap<u32, u64>,
    /// Level firings, repeats included.
    pub escalation_firings: u64,
}

impl Simulation {
    /// The totals over every impact.
    pub fn total(&self) -> ImpactOutcome {
        let mut t = ImpactOutcome::default();
        for o in self.by_impact.values() {
            t.items += o.items;
            t.without_sla += o.without_sla;
            t.accept_reminders += o.accept_reminders;
            t.accept_breaches += o.accept_breaches;
            t.resolve_reminders += o.resolve_reminders;
            t.resolve_breaches += o.resolve_breaches;
        }
        t
    }
}

/// Runs `timelines` through `policy`; open items are judged at `log_end`.
pub fn simulate<'t>(
    timelines: impl IntoIterator<Item = &'t Timeline>,
    policy: &Policy,
    log_end: Timestamp,
) -> Simulation {
    let mut sim = Simulation {
        policy_version: policy.version.clone(),
        ..Simulation::default()
    };
    for t in timelines {
        sim.items += 1;
        let route = policy.route(
            &t.workflow,
            &t.impact,
            &t.reason,
            "warm",
            &t.title,
            &t.payload,
        );
        *sim.by_group.entry(route.group).or_default() += 1;
        *sim.by_rule.entry(route.rule).or_default() += 1;
        let outcome = sim.by_impact.entry(t.impact.clone()).or_default();
        outcome.items += 1;
        let Some(run) = t.run(policy, log_end) else {
            outcome.without_sla += 1;
            continue;
        };
        for (level, times) in &run.escalations {
            *sim.escalated_items.entry(*level).or_default() += 1;
            sim.escalation_firings += u64::from(*times);
        }
        outcome.accept_reminders += u64::from(run.accept.reminders);
        outcome.accept_breaches += u64::from(run.breaches(Which::Accept, policy, log_end));
        outcome.resolve_reminders += u64::from(run.resolve.reminders);
        outcome.resolve_breaches += u64::from(run.breaches(Which::Resolve, policy, log_end));
    }
    sim
}

#[cfg(test)]
mod tests;
