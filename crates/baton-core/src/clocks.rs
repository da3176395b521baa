//! Live SLA clocks: a handoff's time to accept and time to resolve, kept as
//! pausable [`SlaTimer`]s that follow its lifecycle.
//!
//! The rules (docs/sla-clocks.md says the same for users):
//! - both clocks start when the handoff is created, on its impact's calendar
//!   and budgets; while it is `needs_context` they are paused (the item is in
//!   no queue yet) and they start running when the context arrives;
//! - time to accept stops at the claim; time to resolve stops at the
//!   resolution (or closure);
//! - while `waiting`, running clocks pause if the impact says
//!   `pause_while_waiting` (the default); the deadline then moves by the
//!   working time spent waiting;
//! - a change of impact keeps the working time used and takes the new
//!   impact's budgets and calendar;
//! - a reopen starts a new cycle: both clocks again with full budgets from
//!   the reopen, and their reminders and breaches can fire again.
//!
//! A clock is breached when the working time used reaches its budget
//! ([`SlaTimer::is_breached`]): this one definition is used by the
//! scheduler's `sla_breached` events, `/metrics` and the reports.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::policy::sla::SlaTimer;
use crate::policy::{Impact, Policy};
use crate::{EventKind, Handoff, LifecycleState};

/// Where one clock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    /// Counting working time.
    Running,
    /// Not counting for now (`waiting`, `needs_context`).
    Paused,
    /// Done for this cycle: claimed (accept) or resolved (resolve).
    Stopped,
}

/// One SLA clock of a handoff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SlaClock {
    /// Running, paused or stopped.
    pub state: ClockState,
    /// The budget and the working time used.
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub timer: SlaTimer,
    /// The live deadline while running; the deadline it had when it
    /// stopped; `None` while paused.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub due_at: Option<Timestamp>,
    /// When it stopped, once stopped.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub stopped_at: Option<Timestamp>,
    /// Whether the reminder of this cycle fired (or was passed over because
    /// the breach came first).
    pub reminded: bool,
    /// Whether the breach of this cycle fired.
    pub breach_fired: bool,
}

impl SlaClock {
    fn start(budget: jiff::SignedDuration, now: Timestamp, running: bool) -> Self {
        let mut timer = SlaTimer::start(budget, now);
        if !running {
            timer.running_since = None;
        }
        Self {
            state: if running {
                ClockState::Running
            } else {
                ClockState::Paused
            },
            timer,
            due_at: None,
            stopped_at: None,
            reminded: false,
            breach_fired: false,
        }
    }

    /// Whether the budget is used up at `now` (for a stopped clock: when it
    /// stopped). The one definition of an SLA breach.
    pub fn is_breached(
        &self,
        calendar: &crate::policy::calendar::Calendar,
        now: Timestamp,
    ) -> bool {
        self.timer.is_breached(calendar, now)
    }

    /// [`SlaClock::is_breached`] with the working time from `working`
    /// instead of a calendar (a report's per-impact working time).
    pub fn is_breached_by(
        &self,
        working: crate::policy::sla::WorkingBetween<'_>,
        now: Timestamp,
    ) -> bool {
        self.timer.is_breached_by(working, now)
    }

    fn stop(&mut self, calendar: &crate::policy::calendar::Calendar, now: Timestamp) {
        if self.state == ClockState::Stopped {
            return;
        }
        if self.state == ClockState::Running {
            self.due_at = self.timer.deadline(calendar);
        }
        self.timer.pause(calendar, now);
        self.state = ClockState::Stopped;
        self.stopped_at = Some(now);
    }

    /// Runs or pauses the clock (a stopped clock stays stopped).
    fn run(&mut self, calendar: &crate::policy::calendar::Calendar, running: bool, now: Timestamp) {
        match (self.state, running) {
            (ClockState::Running, false) => {
                self.timer.pause(calendar, now);
                self.state = ClockState::Paused;
            }
            (ClockState::Paused, true) => {
                self.timer.resume(now);
                self.state = ClockState::Running;
            }
            _ => {}
        }
        if self.state != ClockState::Stopped {
            self.due_at = self.timer.deadline(calendar);
        }
    }
}

/// Both SLA clocks of a handoff, for its current cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SlaClocks {
    /// Time to accept: stops at the claim.
    pub accept: SlaClock,
    /// Time to resolve: stops at the resolution.
    pub resolve: SlaClock,
    /// 0 for the first cycle, +1 at each reopen.
    pub cycle: u32,
}

impl SlaClocks {
    /// Fresh clocks of `impact` started at `now`, running unless the handoff
    /// is in a state that pauses them.
    fn start(impact: &Impact, now: Timestamp, cycle: u32) -> Self {
        Self {
            accept: SlaClock::start(impact.accept_within, now, true),
            resolve: SlaClock::start(impact.resolve_within, now, true),
            cycle,
        }
    }

    /// The clock of `which`.
    pub fn get(&self, which: Which) -> &SlaClock {
        match which {
            Which::Accept => &self.accept,
            Which::Resolve => &self.resolve,
        }
    }

    /// The clock of `which`, to change.
    pub fn get_mut(&mut self, which: Which) -> &mut SlaClock {
        match which {
            Which::Accept => &mut self.accept,
            Which::Resolve => &mut self.resolve,
        }
    }
}

/// Which of the two clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    /// Time to accept.
    Accept,
    /// Time to resolve.
    Resolve,
}

impl Which {
    /// Both, accept first.
    pub const BOTH: [Self; 2] = [Self::Accept, Self::Resolve];

    /// `accept` or `resolve`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Resolve => "resolve",
        }
    }
}

/// Whether a clock should count in `state`, given the impact's pause rule.
fn counts(which: Which, state: LifecycleState, pause_while_waiting: bool) -> bool {
    match state {
        LifecycleState::Pending => true,
        LifecycleState::InProgress => which == Which::Resolve,
        LifecycleState::Waiting => !pause_while_waiting,
        LifecycleState::NeedsContext | LifecycleState::Resolved | LifecycleState::Closed => false,
    }
}

/// Brings `after`'s clocks in line with the change from `before` (`None` for
/// a new handoff) recorded as `kind`, at `now`, and sets `accept_by` and
/// `resolve_by` to the live deadlines.
///
/// A handoff whose impact the policy does not declare (an old policy's, or
/// an import's) keeps its clocks and deadlines unchanged.
pub fn follow(
    before: Option<&Handoff>,
    after: &mut Handoff,
    kind: EventKind,
    policy: &Policy,
    now: Timestamp,
) {
    let Some(impact) = policy.impact(after.impact.as_str()) else {
        return;
    };
    let calendar = policy.calendar_for(after.impact.as_str());
    let reopened = before
        .is_some_and(|b| !b.state.is_open() && b.state != LifecycleState::NeedsContext)
        && after.state.is_open();
    let mut clocks = match (after.clocks.take(), reopened) {
        (Some(clocks), false) => clocks,
        (Some(old), true) => SlaClocks::start(impact, now, old.cycle + 1),
        // New, or created before clocks existed: start at creation.
        (None, _) => SlaClocks::start(impact, after.created_at, 0),
    };
    if before.is_some_and(|b| b.impact != after.impact) {
        for which in Which::BOTH {
            let clock = clocks.get_mut(which);
            clock.timer.budget = match which {
                Which::Accept => impact.accept_within,
                Which::Resolve => impact.resolve_within,
            };
        }
    }
    if kind == EventKind::Claimed
        || !after.state.is_open() && after.state != LifecycleState::NeedsContext
    {
        clocks.accept.stop(&calendar, now);
    }
    if matches!(
        after.state,
        LifecycleState::Resolved | LifecycleState::Closed
    ) {
        clocks.resolve.stop(&calendar, now);
    }
    for which in Which::BOTH {
        let running = counts(which, after.state, impact.pause_while_waiting);
        clocks.get_mut(which).run(&calendar, running, now);
    }
    after.accept_by = clocks.accept.due_at;
    after.resolve_by = clocks.resolve.due_at;
    after.clocks = Some(clocks);
}

#[path = "clocks/record.rs"]
mod record;
pub use record::{ClockRun, Tally, state_after};

#[cfg(test)]
#[path = "clocks/tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "clocks/agree.rs"]
mod agree;
