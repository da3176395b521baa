//! A log run offline through a policy: which owner group the policy would
//! have chosen, and which deadlines, reminders and breaches would have fired
//! given the real human timings.
//!
//! Each case becomes a [`Timeline`] (created, first claim, last resolution,
//! waiting spans); [`simulate`] judges every timeline against the policy's
//! customer impacts: the accept clock runs from creation to the first claim,
//! the resolve clock from creation to the last resolution, paused while
//! waiting when the impact says so (`pause_while_waiting`), both on the
//! impact's calendar. Items still open are judged at the log's end.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::CaseImport;
use crate::EventKind;
use crate::policy::Policy;
use crate::policy::sla::SlaTimer;

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
    /// Created.
    pub created_at: Timestamp,
    /// First claimed.
    pub first_claim_at: Option<Timestamp>,
    /// Last resolved, if it ends resolved or closed.
    pub resolved_at: Option<Timestamp>,
    /// Waiting spans `[from, to)`; `to` is `None` if it ends waiting.
    pub waits: Vec<(Timestamp, Option<Timestamp>)>,
    /// Its last event.
    pub last_at: Timestamp,
}

impl Timeline {
    /// The timeline of an imported case.
    pub fn of(case: &CaseImport) -> Self {
        let h = &case.created;
        let mut waits: Vec<(Timestamp, Option<Timestamp>)> = Vec::new();
        let mut first_claim_at = None;
        let mut resolved_at = None;
        for e in &case.events {
            let waiting = waits.last().is_some_and(|(_, to)| to.is_none());
            if waiting
                && e.kind != EventKind::InfoRequested
                && let Some(last) = waits.last_mut()
            {
                last.1 = Some(e.at);
            }
            match e.kind {
                EventKind::InfoRequested if !waiting => waits.push((e.at, None)),
                EventKind::Claimed => {
                    first_claim_at.get_or_insert(e.at);
                }
                EventKind::Resolved => resolved_at = Some(e.at),
                EventKind::Reopened => resolved_at = None,
                _ => {}
            }
        }
        Self {
            workflow: h.workflow.to_string(),
            impact: h.impact.to_string(),
            reason: h.reason.to_string(),
            title: h.title.clone(),
            payload: Value::Object(h.context.payload.clone()),
            log_group: h.owner_group.to_string(),
            created_at: h.created_at,
            first_claim_at,
            resolved_at,
            waits,
            last_at: case.events.last().map_or(h.created_at, |e| e.at),
        }
    }
}

/// Deadlines, reminders and breaches of one customer impact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImpactOutcome {
    /// Items of this impact.
    pub items: u64,
    /// Items the policy gives no deadlines (impact not declared).
    pub without_sla: u64,
    /// Accept reminders that would have fired.
    pub accept_reminders: u64,
    /// Accept deadlines missed.
    pub accept_breaches: u64,
    /// Resolve reminders that would have fired.
    pub resolve_reminders: u64,
    /// Resolve deadlines missed.
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
        let Some(impact) = policy.impact(&t.impact) else {
            outcome.without_sla += 1;
            continue;
        };
        let calendar = policy.calendar_for(&t.impact);
        let fraction = impact.reminder_at;

        // Accept: creation to the first claim; never paused.
        let accept = SlaTimer::start(impact.accept_within, t.created_at);
        let accepted = t.first_claim_at.unwrap_or(log_end);
        outcome.accept_breaches += u64::from(accept.is_breached(&calendar, accepted));
        outcome.accept_reminders += u64::from(
            accept
                .reminder_at(&calendar, fraction)
                .is_some_and(|r| r <= accepted),
        );

        // Resolve: creation to the last resolution, paused while waiting.
        let done = t.resolved_at.unwrap_or(log_end);
        let mut resolve = SlaTimer::start(impact.resolve_within, t.created_at);
        let mut reminded = false;
        let mut check_reminder = |timer: &SlaTimer, until: Timestamp| {
            reminded |= timer
                .reminder_at(&calendar, fraction)
                .is_some_and(|r| r <= until);
        };
        if impact.pause_while_waiting {
            for (from, to) in &t.waits {
                if *from >= done {
                    break;
                }
                check_reminder(&resolve, *from);
                resolve.pause(&calendar, *from);
                match to {
                    Some(to) if *to < done => resolve.resume(*to),
                    _ => break,
                }
            }
        }
        check_reminder(&resolve, done);
        outcome.resolve_reminders += u64::from(reminded);
        outcome.resolve_breaches += u64::from(resolve.is_breached(&calendar, done));
    }
    sim
}

#[cfg(test)]
mod tests;
