use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use uuid::Uuid;

use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(1);

use super::*;
use crate::{Action, Event, EventKind, Handoff, NewHandoff, ReceiptInput, Resolution, lifecycle};

fn t(mins: i64) -> Timestamp {
    "2026-03-02T08:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(mins)
}

fn created(group: &str, impact: &str, reason: &str, at: Timestamp) -> Handoff {
    let new: NewHandoff = serde_json::from_value(json!({
        "workflow": "wf", "subject": {"source": "s", "ref": "r"}, "title": "t",
        "impact": impact, "reason": reason, "owner_group": group
    }))
    .unwrap();
    let id = Uuid::from_u128(u128::from(NEXT.fetch_add(1, Ordering::Relaxed)));
    let mut h = new.into_handoff(id, group, "bot", at).unwrap();
    h.accept_by = Some(at + SignedDuration::from_mins(30));
    h.resolve_by = Some(at + SignedDuration::from_hours(4));
    h
}

fn resolve(resolution: Resolution, reason: &str, changes: Option<serde_json::Value>) -> Action {
    Action::Resolve(ReceiptInput {
        resolution,
        resolution_reason: reason.into(),
        changes,
        customer_note: None,
        internal_note: None,
    })
}

/// The events of `h` taken through `steps` (minute, actor, action).
fn history(h: Handoff, steps: Vec<(i64, &str, Action)>) -> (Uuid, Vec<Event>) {
    let id = h.id;
    let mut events = vec![event(
        id,
        1,
        EventKind::Created,
        h.created_at,
        serde_json::to_value(&h).unwrap(),
    )];
    let mut h = h;
    for (i, (min, who, action)) in steps.into_iter().enumerate() {
        let change = lifecycle::apply(&h, action, who, t(min)).unwrap();
        events.push(event(id, i as i64 + 2, change.kind, t(min), change.data));
        h = change.handoff;
    }
    (id, events)
}

fn event(id: Uuid, seq: i64, kind: EventKind, at: Timestamp, data: serde_json::Value) -> Event {
    Event {
        position: 0,
        handoff_id: id,
        seq,
        kind,
        actor: "x".into(),
        at,
        data,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn claim(who: &str) -> Action {
    Action::Claim {
        assignee: who.into(),
    }
}

fn fold(all: Vec<(Uuid, Vec<Event>)>) -> Histories {
    let mut hs = Histories::default();
    for (_, events) in all {
        for e in &events {
            hs.apply(e);
        }
    }
    hs
}

fn wall(_: &str, a: Timestamp, b: Timestamp) -> SignedDuration {
    b.duration_since(a)
}

#[test]
fn the_summary_counts_what_happened_to_each_item() {
    let hs = fold(vec![
        // Claimed at 10, resolved at 60 with a correction: both SLAs met.
        history(
            created("a", "high", "low_confidence", t(0)),
            vec![
                (10, "ann", claim("ann")),
                (
                    60,
                    "ann",
                    resolve(Resolution::Corrected, "fixed", Some(json!({"amount": 1}))),
                ),
            ],
        ),
        // A → B → A, waits twice, approved unchanged (a false positive), late.
        history(
            created("a", "high", "policy_exception", t(0)),
            vec![
                (
                    5,
                    "x",
                    Action::Reassign {
                        owner_group: "b".into(),
                        reason: None,
                    },
                ),
                (
                    6,
                    "x",
                    Action::Reassign {
                        owner_group: "a".into(),
                        reason: Some("bounce_back".into()),
                    },
                ),
                (40, "ann", claim("ann")),
                (
                    41,
                    "ann",
                    Action::RequestInfo {
                        question: "q".into(),
                    },
                ),
                (42, "ann", Action::ProvideInfo { info: "i".into() }),
                (
                    43,
                    "ann",
                    Action::RequestInfo {
                        question: "q".into(),
                    },
                ),
                (44, "ann", Action::ProvideInfo { info: "i".into() }),
                (300, "ann", resolve(Resolution::Approved, "fixed", None)),
            ],
        ),
        // Never claimed; its accept deadline passed long ago.
        history(created("b", "low", "low_confidence", t(0)), vec![]),
        // Reopened, then resolved by bob.
        history(
            created("b", "low", "low_confidence", t(0)),
            vec![
                (1, "bob", claim("bob")),
                (2, "bob", resolve(Resolution::Rejected, "unnecessary", None)),
                (
                    3,
                    "bob",
                    Action::Reopen {
                        reason: "wrong".into(),
                    },
                ),
                (4, "bob", claim("bob")),
                (20, "bob", resolve(Resolution::Rejected, "fixed", None)),
            ],
        ),
    ]);
    let histories: Vec<&History> = hs.items.iter().map(|(_, h)| h).collect();
    let s = summarize(
        histories.iter().copied(),
        None,
        None,
        GroupBy::Impact,
        t(10_000),
        &wall,
    );
    let all = &s.total;
    assert_eq!((all.volume, all.open, all.resolved), (4, 1, 3));
    // Accept: 10, 40, 1 minutes → p50 10 min, p90 40 min, mean 17 min.
    assert_eq!(all.time_to_accept.wall.count, 3);
    assert_eq!(all.time_to_accept.wall.p50_s, Some(600.0));
    assert_eq!(all.time_to_accept.wall.p90_s, Some(2400.0));
    assert_eq!(all.time_to_accept.wall.mean_s, Some(1020.0));
    // Resolve: 60, 300, 20 minutes (the last resolution counts).
    assert_eq!(all.time_to_resolve.wall.p50_s, Some(3600.0));
    // Accept SLA 30 min: met by the 10- and 1-minute claims, missed by 40 and by the unclaimed one.
    assert_eq!(
        (all.sla_accept.due, all.sla_accept.met, all.sla_accept.rate),
        (4, 2, Some(0.5))
    );
    // Resolve SLA 4 h: 300 min missed.
    assert_eq!((all.sla_resolve.due, all.sla_resolve.met), (4, 2));
    assert_eq!(all.rework, 2, "one bounced back, one reopened");
    assert_eq!((all.waiting_cycles, all.items_with_waiting_cycles), (2, 1));
    assert_eq!(
        (all.ping_pong, all.multi_team, all.reassignments),
        (1, 1, 2)
    );
    assert_eq!(
        all.false_positives, 1,
        "approved unchanged; the reopened one's last reason is fixed"
    );
    assert_eq!(all.busiest_reviewer.as_deref(), Some("ann"));
    assert!((all.busiest_reviewer_share.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let keys: Vec<(&str, u64)> = s.rows.iter().map(|r| (r.key.as_str(), r.volume)).collect();
    assert_eq!(keys, [("high", 2), ("low", 2)]);

    let by_group = summarize(
        histories.iter().copied(),
        Some(t(0)),
        Some(t(1)),
        GroupBy::OwnerGroup,
        t(10_000),
        &wall,
    );
    assert_eq!(by_group.total.volume, 4);
    assert_eq!(
        summarize(
            histories.iter().copied(),
            Some(t(1)),
            None,
            GroupBy::Line,
            t(0),
            &wall
        )
        .total
        .volume,
        0
    );
}

#[test]
fn working_time_comes_from_the_callers_calendar() {
    let hs = fold(vec![history(
        created("a", "high", "r", t(0)),
        vec![(120, "ann", claim("ann"))],
    )]);
    let half = |_: &str, a: Timestamp, b: Timestamp| b.duration_since(a) / 2;
    let s = summarize(
        hs.items.iter().map(|(_, h)| h),
        None,
        None,
        GroupBy::Workflow,
        t(0),
        &half,
    );
    assert_eq!(s.total.time_to_accept.wall.p50_s, Some(7200.0));
    assert_eq!(s.total.time_to_accept.working.p50_s, Some(3600.0));
}

#[test]
fn percentiles_use_the_nearest_rank() {
    let mut v: Vec<f64> = (1..=10).map(f64::from).collect();
    let d = Durations::of(&mut v);
    assert_eq!(
        (d.p50_s, d.p90_s, d.mean_s),
        (Some(5.0), Some(9.0), Some(5.5))
    );
    assert_eq!(Durations::of(&mut []).p50_s, None);
    assert_eq!(Durations::of(&mut [7.0]).p90_s, Some(7.0));
}

#[test]
fn the_weekly_report_trends_reasons_and_lists_the_oldest() {
    let week = 7 * 24 * 60;
    let mut cases = Vec::new();
    for i in 0..3 {
        cases.push(history(
            created("a", "high", "low_confidence", t(week + i)),
            vec![],
        ));
    }
    cases.push(history(
        created("a", "high", "low_confidence", t(10)),
        vec![],
    ));
    cases.push(history(
        created("a", "high", "policy_exception", t(week + 5)),
        vec![(week + 6, "ann", claim("ann"))],
    ));
    cases.push(history(
        created("b", "low", "missing_data", t(week + 7)),
        vec![
            (week + 8, "bob", claim("bob")),
            (
                week + 9,
                "bob",
                resolve(Resolution::Corrected, "fixed", Some(json!({"a": 1}))),
            ),
        ],
    ));
    cases.push(history(created("b", "low", "vip", t(week + 8)), vec![]));
    cases.push(history(created("b", "low", "future", t(3 * week)), vec![]));
    let hs = fold(cases);
    let w = weekly(&hs.items, t(2 * week));
    let top: Vec<(&str, u64, u64, i64)> = w
        .top_reasons
        .iter()
        .map(|r| (r.reason.as_str(), r.this_week, r.previous_week, r.change))
        .collect();
    assert_eq!(
        top,
        [
            ("low_confidence", 3, 1, 2),
            ("missing_data", 1, 0, 1),
            ("policy_exception", 1, 0, 1)
        ]
    );
    assert_eq!(w.top_reasons[0].change_rate, Some(2.0));
    assert_eq!(w.open, 6, "the future item is not seen");
    assert_eq!(w.oldest_open[0].created_at, t(10));
    assert_eq!(w.oldest_open[0].age_s, (2 * week - 10) * 60);
    assert_eq!(w.ownerless, 5);
    let load: Vec<(&str, u64, u64)> = w
        .reviewer_load
        .iter()
        .map(|r| (r.reviewer.as_str(), r.resolved_this_week, r.holding))
        .collect();
    assert_eq!(load, [("bob", 1, 0), ("ann", 0, 1)]);
}
