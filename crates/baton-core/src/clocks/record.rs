//! A recorded history run through the live clocks: the verdicts the reports
//! and `replay --simulate` count, by the same [`follow`] and
//! [`SlaClock::is_breached`] the server uses, and (for the simulation) the
//! reminders and breaches [`react::fire`] would have fired in between.
//!
//! A cycle of a clock is judged when it stops (accept at the claim, resolve
//! at the resolution): breached iff the working time used reached the
//! budget. A clock that has not stopped is judged by the caller at the time
//! it reports on ([`ClockRun::open_clock`]).

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;

use super::{ClockState, SlaClock, Which, follow};
use crate::policy::Policy;
use crate::timers::due_timers;
use crate::{ContextPacket, EventKind, Handoff, LifecycleState, react};

/// The cycles of one clock judged so far, and what fired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Cycles that stopped within the budget.
    pub met: u32,
    /// Cycles that stopped with the budget used up.
    pub breached: u32,
    /// `sla_warned` events fired ([`ClockRun::fire_until`] only).
    pub reminders: u32,
    /// `sla_breached` events fired ([`ClockRun::fire_until`] only).
    pub breach_events: u32,
}

/// One handoff's clocks driven through its recorded lifecycle changes.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockRun {
    /// The handoff as far as the clocks need it (no context, no receipt).
    handoff: Handoff,
    /// The time of the last change or firing: a timer found due earlier
    /// fires then, as the scheduler would, late.
    last: Timestamp,
    /// Time to accept.
    pub accept: Tally,
    /// Time to resolve.
    pub resolve: Tally,
    /// Escalation levels (from 1) that fired at least once, with how often.
    pub escalations: std::collections::BTreeMap<u32, u32>,
}

impl ClockRun {
    /// Starts the clocks of `created` (the handoff as created) under
    /// `policy`, from its creation time; `None` when the policy does not
    /// declare its impact (the caller falls back to the stored deadlines).
    pub fn start(created: &Handoff, policy: &Policy) -> Option<Self> {
        policy.impact(created.impact.as_str())?;
        let mut handoff = created.clone();
        handoff.context = ContextPacket::default();
        handoff.receipt = None;
        handoff.missing_fields = Vec::new();
        handoff.clocks = None;
        follow(
            None,
            &mut handoff,
            EventKind::Created,
            policy,
            created.created_at,
        );
        crate::escalate::start(&mut handoff, policy, created.created_at);
        Some(Self {
            last: created.created_at,
            handoff,
            accept: Tally::default(),
            resolve: Tally::default(),
            escalations: std::collections::BTreeMap::new(),
        })
    }

    /// The handoff's state, clocks and live deadlines after the last change.
    pub fn handoff(&self) -> &Handoff {
        &self.handoff
    }

    /// The tally of `which`.
    pub fn tally(&self, which: Which) -> &Tally {
        match which {
            Which::Accept => &self.accept,
            Which::Resolve => &self.resolve,
        }
    }

    fn tally_mut(&mut self, which: Which) -> &mut Tally {
        match which {
            Which::Accept => &mut self.accept,
            Which::Resolve => &mut self.resolve,
        }
    }

    /// Follows one recorded change: an event of `kind` at `at` that left the
    /// handoff in `state`. A clock it stops is judged there.
    pub fn change(
        &mut self,
        kind: EventKind,
        state: LifecycleState,
        policy: &Policy,
        at: Timestamp,
    ) {
        let before = self.handoff.clone();
        self.handoff.state = state;
        self.handoff.updated_at = at;
        follow(Some(&before), &mut self.handoff, kind, policy, at);
        crate::escalate::follow(&before, &mut self.handoff, kind, policy, at);
        self.last = self.last.max(at);
        let (Some(was), Some(now)) = (&before.clocks, self.handoff.clocks.clone()) else {
            return;
        };
        let calendar = policy.calendar_for(self.handoff.impact.as_str());
        for which in Which::BOTH {
            let stopped = now.cycle == was.cycle
                && was.get(which).state != ClockState::Stopped
                && now.get(which).state == ClockState::Stopped;
            if stopped {
                let breached = now.get(which).is_breached(&calendar, at);
                let tally = self.tally_mut(which);
                tally.met += u32::from(!breached);
                tally.breached += u32::from(breached);
            }
        }
    }

    /// Fires, in order, every reminder and breach timer due by `until`, with
    /// [`react::fire`] as the scheduler would (a timer due before the last
    /// change fires at that change, late), counting what fired.
    pub fn fire_until(&mut self, policy: &Policy, until: Timestamp) {
        loop {
            let Some(timer) = due_timers(&self.handoff, policy)
                .into_iter()
                .find(|t| t.due_at <= until)
            else {
                return;
            };
            let now = timer.due_at.max(self.last);
            let reaction = react::fire(&self.handoff, &timer, policy, now);
            if reaction.handoff == self.handoff {
                return; // stale: nothing to fire (cannot happen for a timer just computed)
            }
            if timer.kind == crate::timers::TimerKind::Escalation {
                // Count what the chain would do; what happened next is the
                // recorded history's, not the level's actions.
                for (kind, data) in &reaction.events {
                    if *kind == EventKind::Escalated
                        && let Some(level) = data["level"].as_u64()
                    {
                        *self
                            .escalations
                            .entry(u32::try_from(level).unwrap_or(u32::MAX))
                            .or_default() += 1;
                    }
                }
                self.handoff.escalation = reaction.handoff.escalation;
                self.last = now;
                continue;
            }
            for (kind, data) in &reaction.events {
                let which = match data.get("clock").and_then(Value::as_str) {
                    Some("accept") => Which::Accept,
                    _ => Which::Resolve,
                };
                let tally = self.tally_mut(which);
                match kind {
                    EventKind::SlaWarned => tally.reminders += 1,
                    EventKind::SlaBreached => tally.breach_events += 1,
                    _ => {}
                }
            }
            self.handoff = reaction.handoff;
            self.last = now;
        }
    }

    /// The current cycle's clock of `which` if it has not stopped (the
    /// handoff is still open); the caller judges it with
    /// [`SlaClock::is_breached`] at the time it reports on.
    pub fn open_clock(&self, which: Which) -> Option<&SlaClock> {
        let clock = self.handoff.clocks.as_ref()?.get(which);
        (clock.state != ClockState::Stopped).then_some(clock)
    }

    /// Cycles of `which` breached, counting the open one if breached at
    /// `now`: the one breach figure.
    pub fn breaches(&self, which: Which, policy: &Policy, now: Timestamp) -> u32 {
        let calendar = policy.calendar_for(self.handoff.impact.as_str());
        let open = self
            .open_clock(which)
            .is_some_and(|c| c.is_breached(&calendar, now));
        self.tally(which).breached + u32::from(open)
    }
}

/// The lifecycle state a recorded event leaves a handoff in, from the state
/// before it and the event's kind and data (as `lifecycle::apply` sets it).
pub fn state_after(state: LifecycleState, kind: EventKind, data: &Value) -> LifecycleState {
    use LifecycleState::*;
    let text = |k: &str| data.get(k).and_then(Value::as_str);
    match kind {
        EventKind::Claimed | EventKind::InfoReceived => InProgress,
        EventKind::Released
        | EventKind::Reassigned
        | EventKind::ContextReceived
        | EventKind::Reopened => Pending,
        EventKind::InfoRequested => Waiting,
        // An escalation to another group puts it back in the queue.
        EventKind::Escalated if text("to") != text("from") => Pending,
        EventKind::Resolved => Resolved,
        EventKind::Closed => Closed,
        EventKind::ExecutionReported if data.get("reopened") == Some(&Value::Bool(true)) => Pending,
        _ => state,
    }
}
