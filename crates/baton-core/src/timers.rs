//! Durable timers: what a handoff's clocks need to fire, and when.
//!
//! The store keeps, per handoff, exactly the set [`due_timers`] returns after
//! each change: the server and the scheduler replace a handoff's timers in
//! the same transaction as the change (an arm and a cancel are the same
//! step). A timer is identified by (handoff, kind, level); firing one is a
//! [`crate::react::fire`] that records it on the handoff, so it is never
//! armed again in the same cycle.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clocks::{ClockState, Which};
use crate::policy::Policy;
use crate::{Handoff, LifecycleState};

/// What a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// The accept clock reached the impact's `reminder_at` share.
    AcceptReminder,
    /// The accept clock ran out.
    AcceptBreach,
    /// The resolve clock reached the impact's `reminder_at` share.
    ResolveReminder,
    /// The resolve clock ran out.
    ResolveBreach,
    /// The next level of the handoff's escalation chain (`level` is its index).
    Escalation,
    /// The next customer update promised by a customer-safe note.
    NextUpdate,
    /// The assigner's offer ran out: the impact's `accept_within` after
    /// `assigned_at`, while the item is still `pending` with its assignee.
    AssignmentExpiry,
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [Self; 7] = [
        Self::AcceptReminder,
        Self::AcceptBreach,
        Self::ResolveReminder,
        Self::ResolveBreach,
        Self::Escalation,
        Self::NextUpdate,
        Self::AssignmentExpiry,
    ];

    /// The stored name, e.g. `accept_breach`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AcceptReminder => "accept_reminder",
            Self::AcceptBreach => "accept_breach",
            Self::ResolveReminder => "resolve_reminder",
            Self::ResolveBreach => "resolve_breach",
            Self::Escalation => "escalation",
            Self::NextUpdate => "next_update",
            Self::AssignmentExpiry => "assignment_expiry",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The clock it watches (`None` for an escalation level or an assignment).
    pub fn clock(self) -> Option<Which> {
        match self {
            Self::AcceptReminder | Self::AcceptBreach => Some(Which::Accept),
            Self::ResolveReminder | Self::ResolveBreach => Some(Which::Resolve),
            Self::Escalation | Self::NextUpdate | Self::AssignmentExpiry => None,
        }
    }

    /// Whether it is a breach (else a reminder).
    pub fn is_breach(self) -> bool {
        matches!(self, Self::AcceptBreach | Self::ResolveBreach)
    }
}

/// One armed timer of one handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timer {
    /// The handoff.
    pub handoff_id: Uuid,
    /// What it is for.
    pub kind: TimerKind,
    /// The escalation level (0 for SLA reminders and breaches).
    pub level: u32,
    /// When it falls due, to the microsecond.
    pub due_at: Timestamp,
}

/// The timers `handoff` needs now: a reminder and a breach for each running
/// clock, except those that already fired in this cycle, and the next level
/// of its escalation chain when that is armed ([`crate::escalate::next_due`]), and the expiry
/// of an assignment ([`assignment_expires_at`]). Empty for a closed,
/// resolved or parked item, and for an impact the policy does not declare.
/// Sorted by due time.
pub fn due_timers(handoff: &Handoff, policy: &Policy) -> Vec<Timer> {
    let mut timers = Vec::new();
    if !handoff.state.is_open() || handoff.state == LifecycleState::NeedsContext {
        return timers;
    }
    if let Some(at) = assignment_expires_at(handoff, policy) {
        timers.push(timer(handoff, TimerKind::AssignmentExpiry, at));
    }
    let (Some(clocks), Some(impact)) = (&handoff.clocks, policy.impact(handoff.impact.as_str()))
    else {
        timers.sort_by_key(|t| (t.due_at, t.kind));
        return timers;
    };
    let calendar = policy.calendar_for(handoff.impact.as_str());
    for which in Which::BOTH {
        let clock = clocks.get(which);
        if clock.state != ClockState::Running {
            continue;
        }
        let (reminder, breach) = match which {
            Which::Accept => (TimerKind::AcceptReminder, TimerKind::AcceptBreach),
            Which::Resolve => (TimerKind::ResolveReminder, TimerKind::ResolveBreach),
        };
        if !clock.reminded
            && !clock.breach_fired
            && let Some(at) = clock.timer.reminder_at(&calendar, impact.reminder_at)
        {
            timers.push(timer(handoff, reminder, at));
        }
        if !clock.breach_fired
            && let Some(at) = clock.timer.deadline(&calendar)
        {
            timers.push(timer(handoff, breach, at));
        }
    }
    if let Some(promised) = handoff.next_update_at {
        timers.push(timer(handoff, TimerKind::NextUpdate, promised));
    }
    if let Some((level, due_at)) = crate::escalate::next_due(handoff, policy) {
        timers.push(Timer {
            handoff_id: handoff.id,
            kind: TimerKind::Escalation,
            level: u32::try_from(level).unwrap_or(u32::MAX),
            due_at: ceil_to_micros(due_at),
        });
    }
    timers.sort_by_key(|t| (t.due_at, t.kind));
    timers
}

/// When the assigner's offer of `handoff` runs out: the impact's
/// `accept_within` of working time (on its calendar) after `assigned_at`,
/// while it is `pending` with an assignee; `None` otherwise or for an
/// undeclared impact.
pub fn assignment_expires_at(handoff: &Handoff, policy: &Policy) -> Option<Timestamp> {
    if handoff.state != LifecycleState::Pending || handoff.assignee.is_none() {
        return None;
    }
    let assigned_at = handoff.assigned_at?;
    let impact = policy.impact(handoff.impact.as_str())?;
    let calendar = policy.calendar_for(handoff.impact.as_str());
    Some(calendar.add_working(assigned_at, impact.accept_within))
}

fn timer(handoff: &Handoff, kind: TimerKind, due_at: Timestamp) -> Timer {
    Timer {
        handoff_id: handoff.id,
        kind,
        level: 0,
        due_at: ceil_to_micros(due_at),
    }
}

/// `at` rounded up to the microsecond, as every store keeps time: a timer
/// is never due before its deadline.
pub fn ceil_to_micros(at: Timestamp) -> Timestamp {
    let micros = at.as_microsecond();
    let floor = Timestamp::from_microsecond(micros).unwrap_or(at);
    if floor == at {
        return at;
    }
    Timestamp::from_microsecond(micros + 1).unwrap_or(at)
}
