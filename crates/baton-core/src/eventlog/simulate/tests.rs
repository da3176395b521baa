use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::*;

const POLICY: &str = r#"
[reasons.handoff]
user_reported = "a user reported it"
[[impact]]
name = "high"
rank = 1
accept_within = "30m"
resolve_within = "4h"
reminder_at = 0.5
[[impact]]
name = "low"
rank = 2
accept_within = "8h"
resolve_within = "2d"
pause_while_waiting = false
[[group]]
name = "desk"
[[group]]
name = "experts"
[[route]]
id = "line-3"
when = "has(payload.support_line) && payload.support_line == 3"
group = "experts"
[[route]]
id = "default"
group = "desk"
"#;

fn t(mins: i64) -> Timestamp {
    "2012-05-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(mins)
}

fn timeline(
    impact: &str,
    line: u8,
    claim: Option<i64>,
    resolve: Option<i64>,
    waits: Vec<(i64, Option<i64>)>,
) -> Timeline {
    let new: crate::NewHandoff = serde_json::from_value(json!({
        "workflow": "incident", "subject": {"source": "s", "ref": "r"}, "title": "x",
        "impact": impact, "reason": "user_reported", "owner_group": "team"
    }))
    .unwrap();
    let created = new
        .into_handoff(uuid::Uuid::nil(), "team", "bot", t(0))
        .unwrap();
    let mut changes = Vec::new();
    if let Some(c) = claim {
        changes.push((EventKind::Claimed, t(c), LifecycleState::InProgress));
    }
    for (from, to) in waits {
        changes.push((EventKind::InfoRequested, t(from), LifecycleState::Waiting));
        if let Some(to) = to {
            changes.push((EventKind::InfoReceived, t(to), LifecycleState::InProgress));
        }
    }
    if let Some(r) = resolve {
        changes.push((EventKind::Resolved, t(r), LifecycleState::Resolved));
    }
    Timeline {
        workflow: "incident".into(),
        impact: impact.into(),
        reason: "user_reported".into(),
        title: "x".into(),
        payload: json!({ "support_line": line }),
        log_group: "team".into(),
        created,
        changes,
        last_at: t(resolve.unwrap_or(0)),
    }
}

fn policy() -> Policy {
    Policy::build(POLICY, &|_: &str| Err("no files".to_string())).unwrap()
}

#[test]
fn deadlines_reminders_and_breaches_follow_the_real_timings() {
    let timelines = [
        // Claimed at 10 min (before the 15-min reminder), resolved in 1 h.
        timeline("high", 1, Some(10), Some(60), vec![]),
        // Claimed at 20 min (reminded), resolved at 5 h: breached.
        timeline("high", 3, Some(20), Some(300), vec![]),
        // Resolved at 5 h but waited 2 h of it: within 4 h of running clock.
        timeline("high", 1, Some(5), Some(300), vec![(30, Some(150))]),
        // Never claimed; the log ends after a day: both clocks breached.
        timeline("high", 1, None, None, vec![]),
        // Low does not pause: 3 days with a long wait is still a breach.
        timeline(
            "low",
            1,
            Some(60),
            Some(3 * 24 * 60),
            vec![(70, Some(3 * 24 * 60 - 10))],
        ),
        // An impact the policy does not declare.
        timeline("unknown", 1, Some(1), Some(2), vec![]),
    ];
    let sim = simulate(&timelines, &policy(), t(24 * 60));
    let high = &sim.by_impact["high"];
    assert_eq!(high.items, 4);
    assert_eq!((high.accept_breaches, high.accept_reminders), (1, 2));
    assert_eq!(high.resolve_breaches, 2, "{high:?}");
    // Reminders at 2 h of running time: the 1-h item is not reminded.
    assert_eq!(high.resolve_reminders, 3, "{high:?}");
    let low = &sim.by_impact["low"];
    assert_eq!((low.accept_breaches, low.resolve_breaches), (0, 1));
    assert_eq!(sim.by_impact["unknown"].without_sla, 1);
    assert_eq!(
        sim.by_group,
        BTreeMap::from([("desk".into(), 5), ("experts".into(), 1)])
    );
    assert_eq!(sim.by_rule["line-3"], 1);
    assert_eq!(sim.total().resolve_breaches, 3);
    assert_eq!(sim.items, 6);
}

#[test]
fn timelines_come_from_the_imported_events() {
    use crate::eventlog::{Attributes, Case, MappingConfig, import_case};
    let mapping = MappingConfig::parse(
        "case_id = \"id\"\ntimestamp = \"t\"\nstatus = \"s\"\nowner_group = \"g\"\n\
         [[status_rule]]\nstatus = \"Accepted\"\nstep = \"claimed\"\n\
         [[status_rule]]\nstatus = \"Wait\"\nstep = \"waiting\"\n\
         [[status_rule]]\nstatus = \"Done\"\nstep = \"resolved\"\n\
         [[status_rule]]\nstatus = \"Again\"\nstep = \"pending\"\n",
    )
    .unwrap();
    let ev = |m: i64, s: &str| {
        Attributes::from([
            ("t".into(), t(m).to_string()),
            ("s".into(), s.into()),
            ("g".into(), "A".into()),
        ])
    };
    let case = Case {
        attributes: Attributes::from([("id".into(), "1".into())]),
        events: vec![
            ev(0, "Accepted"),
            ev(5, "Wait"),
            ev(9, "Accepted"),
            ev(20, "Done"),
            ev(30, "Again"),
            ev(40, "Done"),
        ],
        lines: Vec::new(),
    };
    let imported = import_case(&case, &mapping, |_| uuid::Uuid::nil(), "import").unwrap();
    let tl = Timeline::of(&imported);
    use EventKind::{Claimed, InfoReceived, InfoRequested, Reopened};
    use LifecycleState::{InProgress, Pending, Waiting};
    let changes: Vec<(EventKind, LifecycleState)> =
        tl.changes.iter().map(|(k, _, s)| (*k, *s)).collect();
    assert_eq!(
        changes,
        vec![
            (Claimed, InProgress),
            (InfoRequested, Waiting),
            (InfoReceived, InProgress),
            (EventKind::Resolved, LifecycleState::Resolved),
            (Reopened, Pending),
            (Claimed, InProgress),
            (EventKind::Resolved, LifecycleState::Resolved),
        ],
        "{:?}",
        tl.changes
    );
    assert_eq!(tl.changes[1].1, t(5));
    assert_eq!(tl.last_at, t(40));
}
