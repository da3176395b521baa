use super::*;
use crate::EventKind::{self, *};

const MAPPING: &str = r#"
case_id = "id"
timestamp = "t"
status = "s"
sub_status = "ss"
owner_group = "team"
assignee = "who"
impact = "impact"
[line]
suffixes = { "2nd" = 2, "3rd" = 3 }
[handoff]
workflow = "incident"
reason = "user_reported"
source = "test-log"
resolution_reason = "fixed"
[[status_rule]]
status = "Queued"
step = "pending"
[[status_rule]]
status = "Accepted"
sub_status = "Wait - User"
step = "waiting"
[[status_rule]]
status = "Accepted"
step = "claimed"
[[status_rule]]
status = "Completed"
sub_status = "Resolved"
step = "resolved"
[[status_rule]]
status = "Completed"
step = "closed"
"#;

fn mapping() -> MappingConfig {
    MappingConfig::parse(MAPPING).unwrap()
}

/// `(minute, team, status, sub status, assignee)`.
type LogEvent = (i64, &'static str, &'static str, &'static str, &'static str);

/// A case of [`LogEvent`]s.
fn case(events: &[LogEvent]) -> Case {
    let base: Timestamp = "2012-05-01T08:00:00Z".parse().unwrap();
    Case {
        attributes: Attributes::from([("id".into(), "1-42".into())]),
        events: events
            .iter()
            .map(|(min, team, s, ss, who)| {
                let at = base + jiff::SignedDuration::from_mins(*min);
                Attributes::from([
                    ("t".into(), at.to_string()),
                    ("team".into(), team.to_string()),
                    ("s".into(), s.to_string()),
                    ("ss".into(), ss.to_string()),
                    ("who".into(), who.to_string()),
                    ("impact".into(), "Medium".into()),
                ])
            })
            .collect(),
        lines: (0..events.len() as u64).map(|i| 10 + i).collect(),
    }
}

fn import(c: &Case) -> CaseImport {
    import_case(c, &mapping(), |_| Uuid::nil(), "import").unwrap()
}

fn kinds(i: &CaseImport) -> Vec<EventKind> {
    i.events.iter().map(|e| e.kind).collect()
}

#[test]
fn status_changes_become_legal_lifecycle_paths() {
    let table: Vec<(Vec<LogEvent>, Vec<EventKind>, LifecycleState)> = vec![
        (
            vec![
                (0, "A", "Queued", "Awaiting Assignment", "x"),
                (5, "A", "Accepted", "In Progress", "ann"),
                (9, "A", "Completed", "Resolved", "ann"),
                (20, "A", "Completed", "Closed", "ann"),
            ],
            vec![Created, Claimed, Resolved, Closed],
            LifecycleState::Closed,
        ),
        // Completed straight from the queue: claimed on the way.
        (
            vec![
                (0, "A", "Queued", "", "x"),
                (5, "A", "Completed", "Closed", "bob"),
            ],
            vec![Created, Claimed, Resolved, Closed],
            LifecycleState::Closed,
        ),
        // Waiting and back, then a second person takes over.
        (
            vec![
                (0, "A", "Accepted", "In Progress", "ann"),
                (1, "A", "Accepted", "Wait - User", "ann"),
                (2, "A", "Accepted", "In Progress", "ann"),
                (3, "A", "Accepted", "In Progress", "bob"),
            ],
            vec![
                Created,
                Claimed,
                InfoRequested,
                InfoReceived,
                Released,
                Claimed,
            ],
            LifecycleState::InProgress,
        ),
        // Up a line, back down, accepted after closing.
        (
            vec![
                (0, "A", "Accepted", "In Progress", "ann"),
                (1, "B 2nd", "Queued", "Awaiting Assignment", "ann"),
                (2, "A", "Queued", "Awaiting Assignment", "bob"),
                (3, "A", "Completed", "Closed", "bob"),
                (4, "A", "Accepted", "In Progress", "bob"),
            ],
            vec![
                Created, Claimed, Escalated, Reassigned, Claimed, Resolved, Closed, Reopened,
                Claimed,
            ],
            LifecycleState::InProgress,
        ),
    ];
    for (events, want, state) in table {
        let i = import(&case(&events));
        assert_eq!(kinds(&i), want, "{events:?}");
        assert_eq!(i.handoff.state, state, "{events:?}");
        assert_eq!(i.events.len(), i.actions.len() + 1);
        assert_eq!(i.source_events, events.len());
        assert!(i.anomalies.is_empty());
    }
}

#[test]
fn the_handoff_keeps_the_logs_times_source_and_lines() {
    let i = import(&case(&[
        (0, "Org A", "Queued", "", "x"),
        (7, "Org B 3rd", "Accepted", "In Progress", "ann"),
        (9, "Org A", "Accepted", "In Progress", "ann"),
    ]));
    assert_eq!(i.created.created_at.to_string(), "2012-05-01T08:00:00Z");
    assert_eq!(i.created.subject.source, "test-log");
    assert_eq!(i.created.subject.reference, "1-42");
    assert_eq!(i.created.owner_group.as_str(), "org-a");
    assert_eq!(i.created.impact.as_str(), "medium");
    assert_eq!(i.created.context.payload["support_line"], 1);
    let escalated = &i.events[1];
    assert_eq!(escalated.kind, Escalated);
    assert_eq!(escalated.at.to_string(), "2012-05-01T08:07:00Z");
    assert_eq!(escalated.data["reason"], "tier_escalation");
    assert_eq!(
        (
            escalated.data["from_line"].clone(),
            escalated.data["to_line"].clone()
        ),
        (json!(1), json!(3))
    );
    assert_eq!(escalated.data["source_event"], 2);
    let back = i.events.iter().find(|e| e.kind == Reassigned).unwrap();
    assert_eq!(back.data["reason"], "bounce_back");
    assert_eq!(i.handoff.owner_group.as_str(), "org-a");
    assert_eq!(i.handoff.assignee.as_deref(), Some("ann"));
}

#[test]
fn anomalies_name_the_case_and_line_and_are_not_dropped() {
    let mut c = case(&[
        (0, "A", "Queued", "", "x"),
        (5, "A", "Teleported", "", "x"),
        (9, "B", "Accepted", "In Progress", "ann"),
        (1, "B", "Accepted", "In Progress", "ann"),
    ]);
    c.events[3].insert("t".into(), "yesterday".into());
    c.events.push(c.events[2].clone());
    c.lines.push(14);
    c.events[4].insert("t".into(), "2012-05-01T08:01:00Z".into());
    let i = import(&c);
    let found: Vec<(u64, AnomalyKind)> = i.anomalies.iter().map(|a| (a.line, a.kind)).collect();
    assert_eq!(
        found,
        vec![
            (11, AnomalyKind::UnknownStatus),
            (13, AnomalyKind::BadTimestamp),
            (14, AnomalyKind::OutOfOrder)
        ]
    );
    assert!(i.anomalies.iter().all(|a| a.case == "1-42"));
    assert!(
        i.anomalies[0].detail.contains("Teleported"),
        "{}",
        i.anomalies[0].detail
    );
    // The unknown status's team change still applies; the out-of-order event keeps its predecessor's time.
    assert!(i.events.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        i.events
            .iter()
            .any(|e| e.kind == Reassigned && e.data["source_event"] == 3)
    );
}

#[test]
fn cases_without_id_or_time_are_refused_with_a_reason() {
    let mut c = case(&[(0, "A", "Queued", "", "x")]);
    c.attributes.clear();
    let err = import_case(&c, &mapping(), |_| Uuid::nil(), "import").unwrap_err();
    assert_eq!(err.kind, AnomalyKind::UnreadableCase);
    assert!(err.detail.contains("`id`"), "{}", err.detail);
    let mut c = case(&[(0, "A", "Queued", "", "x")]);
    c.events[0].remove("t");
    let err = import_case(&c, &mapping(), |_| Uuid::nil(), "import").unwrap_err();
    assert!(err.detail.contains("no event"), "{}", err.detail);
}

#[test]
fn the_same_case_imports_the_same_way() {
    let c = case(&[
        (0, "A", "Queued", "", "x"),
        (5, "B 2nd", "Accepted", "In Progress", "ann"),
    ]);
    assert_eq!(import(&c), import(&c));
}

#[test]
fn log_names_become_labels() {
    for (raw, want) in [
        ("V5 3rd", "v5-3rd"),
        ("  G97 / Org line A2 ", "g97-org-line-a2"),
        ("Medium", "medium"),
        ("***", "unknown"),
        ("a_b.c:d", "a_b.c:d"),
    ] {
        assert_eq!(label_of(raw), want);
        crate::Label::parse("x", &label_of(raw)).unwrap();
    }
    assert_eq!(label_of(&"x".repeat(100)).len(), 64);
}

#[test]
fn timestamps_read_rfc3339_or_the_mapping_format() {
    let m = mapping();
    let ev = |t: &str| Attributes::from([("t".to_string(), t.to_string())]);
    assert_eq!(
        m.timestamp(&ev("2010-03-31T16:59:42+02:00"))
            .unwrap()
            .to_string(),
        "2010-03-31T14:59:42Z"
    );
    assert_eq!(
        m.timestamp(&ev("2010-03-31T16:59:42")).unwrap().to_string(),
        "2010-03-31T16:59:42Z"
    );
    let mut m2 = m.clone();
    m2.timestamp_format = Some("%d/%m/%Y %H:%M".into());
    m2.time_zone = Some("Europe/Stockholm".into());
    assert_eq!(
        m2.timestamp(&ev("31/03/2010 16:59")).unwrap().to_string(),
        "2010-03-31T14:59:00Z"
    );
    assert!(m.timestamp(&ev("soon")).unwrap_err().contains("`soon`"));
    assert!(
        m.timestamp(&Attributes::new())
            .unwrap_err()
            .contains("no `t`")
    );
}
