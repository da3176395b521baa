//! SLA timers: a budget of working time that runs against a calendar and can
//! pause, e.g. while a handoff is `waiting` on someone outside the team.
//!
//! A timer stores only what it needs to be replayed: the budget, the working
//! time used in finished running spans, and since when it has been running.
//! Every answer that depends on the time takes `now` and the [`Calendar`].

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::calendar::Calendar;

/// Working time between two instants, as [`Calendar::working_between`].
pub type WorkingBetween<'a> = &'a dyn Fn(Timestamp, Timestamp) -> SignedDuration;

/// A pausable budget of working time, e.g. "resolve within 4h of business
/// hours".
///
/// Breached once the working time used reaches the budget: while running,
/// that is `now ≥ deadline`; while paused, `used ≥ budget`. All arithmetic
/// saturates rather than overflows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTimer {
    /// Working time allowed in total.
    pub budget: SignedDuration,
    /// Working time consumed in finished running spans (before the last pause).
    pub used: SignedDuration,
    /// When the current running span began; `None` while paused.
    pub running_since: Option<Timestamp>,
}

impl SlaTimer {
    /// A timer of `budget` working time, running from `now`.
    pub fn start(budget: SignedDuration, now: Timestamp) -> SlaTimer {
        SlaTimer {
            budget,
            used: SignedDuration::ZERO,
            running_since: Some(now),
        }
    }

    /// Whether the timer is paused.
    pub fn is_paused(&self) -> bool {
        self.running_since.is_none()
    }

    /// Stops the clock at `now`, adding the working time of the running span
    /// `[running_since, now)` to `used`. A no-op while paused.
    pub fn pause(&mut self, calendar: &Calendar, now: Timestamp) {
        if let Some(since) = self.running_since.take() {
            self.used = self
                .used
                .saturating_add(calendar.working_between(since, now));
        }
    }

    /// Starts the clock again from `now`. A no-op while running.
    pub fn resume(&mut self, now: Timestamp) {
        if self.running_since.is_none() {
            self.running_since = Some(now);
        }
    }

    /// The instant the budget runs out, or `None` while paused.
    ///
    /// While running, the remaining budget counted from `running_since` in
    /// working time; when `used ≥ budget` already, `running_since` itself
    /// (the timer was breached when it resumed).
    pub fn deadline(&self, calendar: &Calendar) -> Option<Timestamp> {
        let since = self.running_since?;
        Some(calendar.add_working(since, self.budget.saturating_sub(self.used)))
    }

    /// Working time left at `now`: the budget minus what was used, including
    /// the running span up to `now`. Negative once breached by that much;
    /// zero exactly at the deadline (and while it is non-working time after
    /// it).
    pub fn remaining(&self, calendar: &Calendar, now: Timestamp) -> SignedDuration {
        self.remaining_by(&|from, to| calendar.working_between(from, to), now)
    }

    /// [`SlaTimer::remaining`] with the working time between two instants
    /// given by `working` (the calendar's `working_between`, or a caller's
    /// stand-in for it such as a report's per-impact working time).
    pub fn remaining_by(&self, working: WorkingBetween<'_>, now: Timestamp) -> SignedDuration {
        let running = match self.running_since {
            Some(since) => working(since, now),
            None => SignedDuration::ZERO,
        };
        self.budget
            .saturating_sub(self.used)
            .saturating_sub(running)
    }

    /// Whether the budget is used up at `now`, i.e. `remaining ≤ 0`: a
    /// running timer is breached from its deadline on.
    pub fn is_breached(&self, calendar: &Calendar, now: Timestamp) -> bool {
        self.is_breached_by(&|from, to| calendar.working_between(from, to), now)
    }

    /// [`SlaTimer::is_breached`] with the working time from `working`.
    pub fn is_breached_by(&self, working: WorkingBetween<'_>, now: Timestamp) -> bool {
        !self.remaining_by(working, now).is_positive()
    }

    /// When `fraction` of the budget will have been used (e.g. `0.75` for a
    /// reminder at three quarters), or `None` while paused.
    ///
    /// `fraction` is clamped to `0.0..=1.0` (NaN counts as `1.0`, the
    /// deadline), and the share of the budget is rounded to the nanosecond.
    /// When that share was already used before the current running span, the
    /// answer is `running_since`: the reminder is due at once.
    pub fn reminder_at(&self, calendar: &Calendar, fraction: f64) -> Option<Timestamp> {
        let since = self.running_since?;
        let fraction = if fraction.is_nan() {
            1.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        let budget = self.budget.as_nanos();
        // f64 → i128 saturates; a share of a budget is within the budget.
        let share = ((budget as f64) * fraction).round() as i128;
        let share = SignedDuration::try_from_nanos_i128(share.clamp(budget.min(0), budget.max(0)))
            .unwrap_or(self.budget);
        Some(calendar.add_working(since, share.saturating_sub(self.used)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::calendar::CalendarConfig;

    /// Mon–Fri 09:00–17:00 in UTC, so local times read as instants.
    fn office() -> Calendar {
        let days = ["mon", "tue", "wed", "thu", "fri"];
        Calendar::build(&CalendarConfig {
            name: "office".to_owned(),
            time_zone: "UTC".to_owned(),
            hours: days
                .iter()
                .map(|d| ((*d).to_owned(), vec!["09:00-17:00".to_owned()]))
                .collect(),
            holidays: Vec::new(),
        })
        .unwrap()
    }

    /// `"2026-06-01T09:00"` (a Monday) as a UTC instant.
    fn t(local: &str) -> Timestamp {
        format!("{local}:00Z").parse().unwrap()
    }

    fn hours(h: i64) -> SignedDuration {
        SignedDuration::from_hours(h)
    }

    enum Step {
        Pause(&'static str),
        Resume(&'static str),
    }

    /// Runs `steps` on a timer of `budget` started at `start`, then checks
    /// the deadline (`None`: paused) and the working time used.
    fn check(budget: i64, start: &str, steps: &[Step], deadline: Option<&str>, used: i64) {
        let cal = office();
        let mut timer = SlaTimer::start(hours(budget), t(start));
        for step in steps {
            match step {
                Step::Pause(now) => timer.pause(&cal, t(now)),
                Step::Resume(now) => timer.resume(t(now)),
            }
        }
        assert_eq!(timer.deadline(&cal), deadline.map(t), "{start} {budget}h");
        assert_eq!(timer.used, hours(used), "{start} {budget}h");
    }

    #[test]
    fn pausing_moves_the_deadline_by_the_paused_working_time() {
        use Step::{Pause, Resume};
        check(4, "2026-06-01T09:00", &[], Some("2026-06-01T13:00"), 0);
        check(4, "2026-06-01T16:00", &[], Some("2026-06-02T12:00"), 0);
        // Paused 10:00–12:00 Monday: the deadline moves two hours.
        let paused_two = [Pause("2026-06-01T10:00"), Resume("2026-06-01T12:00")];
        check(
            4,
            "2026-06-01T09:00",
            &paused_two,
            Some("2026-06-01T15:00"),
            1,
        );
        // Paused over a whole working day moves it by eight hours (a day).
        let paused_day = [Pause("2026-06-01T10:00"), Resume("2026-06-02T10:00")];
        check(
            4,
            "2026-06-01T09:00",
            &paused_day,
            Some("2026-06-02T13:00"),
            1,
        );
        // Pausing and resuming outside working hours costs nothing.
        let night = [Pause("2026-06-01T20:00"), Resume("2026-06-02T07:00")];
        check(4, "2026-06-01T16:00", &night, Some("2026-06-02T12:00"), 1);
        let weekend = [Pause("2026-06-06T10:00"), Resume("2026-06-07T10:00")];
        check(4, "2026-06-05T16:00", &weekend, Some("2026-06-08T12:00"), 1);
        // Paused: no deadline; a second pause or resume is a no-op.
        let twice = [Pause("2026-06-01T10:00"), Pause("2026-06-01T11:00")];
        check(4, "2026-06-01T09:00", &twice, None, 1);
        let resumed_twice = [
            Pause("2026-06-01T10:00"),
            Resume("2026-06-01T12:00"),
            Resume("2026-06-01T14:00"),
        ];
        check(
            4,
            "2026-06-01T09:00",
            &resumed_twice,
            Some("2026-06-01T15:00"),
            1,
        );
    }

    #[test]
    fn breach_and_negative_remaining() {
        let cal = office();
        let mut timer = SlaTimer::start(hours(4), t("2026-06-01T09:00"));
        for (now, remaining, breached) in [
            ("2026-06-01T09:00", 4, false),
            ("2026-06-01T12:00", 1, false),
            ("2026-06-01T13:00", 0, true),
            ("2026-06-01T15:00", -2, true),
            ("2026-06-01T22:00", -4, true),
            ("2026-06-02T10:00", -5, true),
        ] {
            assert_eq!(timer.remaining(&cal, t(now)), hours(remaining), "{now}");
            assert_eq!(timer.is_breached(&cal, t(now)), breached, "{now}");
        }
        // Used up while paused: still breached, and the deadline on resuming
        // is the resume instant itself.
        timer.pause(&cal, t("2026-06-01T15:00"));
        assert!(timer.is_paused());
        assert_eq!(timer.remaining(&cal, t("2026-06-03T10:00")), hours(-2));
        assert!(timer.is_breached(&cal, t("2026-06-03T10:00")));
        timer.resume(t("2026-06-03T10:00"));
        assert_eq!(timer.deadline(&cal), Some(t("2026-06-03T10:00")));
        // Over the weekend a breached-at-Friday-17:00 timer stays at zero.
        let friday = SlaTimer::start(hours(2), t("2026-06-05T15:00"));
        assert_eq!(
            friday.remaining(&cal, t("2026-06-06T12:00")),
            SignedDuration::ZERO
        );
        assert!(friday.is_breached(&cal, t("2026-06-06T12:00")));
        assert!(!friday.is_breached(&cal, t("2026-06-05T16:59")));
    }

    #[test]
    fn reminders() {
        let cal = office();
        let mut timer = SlaTimer::start(hours(4), t("2026-06-01T09:00"));
        for (fraction, expect) in [
            (0.75, "2026-06-01T12:00"),
            (0.5, "2026-06-01T11:00"),
            (1.0, "2026-06-01T13:00"),
            (0.0, "2026-06-01T09:00"),
            (2.0, "2026-06-01T13:00"),
            (-1.0, "2026-06-01T09:00"),
            (f64::NAN, "2026-06-01T13:00"),
        ] {
            assert_eq!(
                timer.reminder_at(&cal, fraction),
                Some(t(expect)),
                "{fraction}"
            );
        }
        // 16:00 + 3h of working time crosses the night.
        let late = SlaTimer::start(hours(4), t("2026-06-01T16:00"));
        assert_eq!(late.reminder_at(&cal, 0.75), Some(t("2026-06-02T11:00")));
        // Paused: none; resumed after using 3h already: due on resuming.
        timer.pause(&cal, t("2026-06-01T12:00"));
        assert_eq!(timer.reminder_at(&cal, 0.75), None);
        timer.resume(t("2026-06-02T09:00"));
        assert_eq!(timer.reminder_at(&cal, 0.75), Some(t("2026-06-02T09:00")));
        assert_eq!(timer.reminder_at(&cal, 0.875), Some(t("2026-06-02T09:30")));
    }

    #[test]
    fn round_trips_through_json() {
        let timer = SlaTimer::start(hours(4), t("2026-06-01T09:00"));
        let json = serde_json::to_string(&timer).unwrap();
        assert_eq!(serde_json::from_str::<SlaTimer>(&json).unwrap(), timer);
    }
}
