//! The notice every transport renders: what happened to which handoff, and how urgent it is.

use jiff::SignedDuration;

/// One notification about a handoff, as every channel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The handoff's title.
    pub title: String,
    /// Its customer impact.
    pub impact: String,
    /// Its handoff reason.
    pub reason: String,
    /// The owner group it is routed to.
    pub owner_group: String,
    /// What happened, in a few words: "sla breached", "reminder", "escalated".
    pub event: String,
    /// How long the handoff has been open.
    pub age: SignedDuration,
    /// Until its SLA deadline: negative once breached; `None` without a deadline.
    pub time_left: Option<SignedDuration>,
    /// Where a reviewer opens it.
    pub link: String,
}

impl Notice {
    /// "12 min left", "breached 5 min ago" or "no deadline".
    pub fn time_left_text(&self) -> String {
        match self.time_left {
            None => "no deadline".to_owned(),
            Some(left) if left.is_negative() => format!("breached {} ago", human(left.abs())),
            Some(left) => format!("{} left", human(left)),
        }
    }

    /// The age as "2 h 5 min".
    pub fn age_text(&self) -> String {
        human(self.age.max(SignedDuration::ZERO))
    }

    /// One line for subjects and fallbacks: "[sla breached] Refund over limit".
    pub fn headline(&self) -> String {
        format!("[{}] {}", self.event, self.title)
    }
}

/// A duration to the minute, as people read it: "under 1 min", "12 min",
/// "2 h 5 min", "3 d 4 h".
pub fn human(duration: SignedDuration) -> String {
    let mins = duration.as_secs().unsigned_abs() / 60;
    let (days, hours, mins) = (mins / 1440, mins / 60 % 24, mins % 60);
    match (days, hours, mins) {
        (0, 0, 0) => "under 1 min".to_owned(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(time_left: Option<SignedDuration>) -> Notice {
        Notice {
            title: "t".into(),
            impact: "high".into(),
            reason: "refund".into(),
            owner_group: "triage".into(),
            event: "sla breached".into(),
            age: SignedDuration::from_mins(125),
            time_left,
            link: "https://baton.example/h/1".into(),
        }
    }

    #[test]
    fn durations_read_as_people_say_them() {
        let cases = [
            (0, "under 1 min"),
            (59, "under 1 min"),
            (60, "1 min"),
            (12 * 60 + 30, "12 min"),
            (3600, "1 h"),
            (2 * 3600 + 5 * 60, "2 h 5 min"),
            (86_400, "1 d"),
            (3 * 86_400 + 4 * 3600 + 59, "3 d 4 h"),
        ];
        for (secs, expect) in cases {
            assert_eq!(human(SignedDuration::from_secs(secs)), expect, "{secs}");
        }
    }

    #[test]
    fn time_left_before_and_after_the_deadline() {
        let mins = |m: i64| Some(SignedDuration::from_mins(m));
        assert_eq!(notice(mins(12)).time_left_text(), "12 min left");
        assert_eq!(notice(mins(-5)).time_left_text(), "breached 5 min ago");
        assert_eq!(notice(None).time_left_text(), "no deadline");
        assert_eq!(notice(None).age_text(), "2 h 5 min");
        assert_eq!(notice(None).headline(), "[sla breached] t");
    }
}
