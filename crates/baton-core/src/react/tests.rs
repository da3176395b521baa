//! Admission, actions and timer firings as effects; and a property test: in
//! any interleaving of actions, no timer fires early or after the item
//! stopped needing it, and none fires twice.

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::clocks::ClockState;
use crate::clocks::tests::{created, policy, step, t};
use crate::handoff::tests::sample;
use crate::timers::TimerKind;

fn kinds(timers: &[Timer]) -> Vec<(TimerKind, Timestamp)> {
    timers.iter().map(|t| (t.kind, t.due_at)).collect()
}

#[test]
fn admission_arms_a_reminder_and_a_breach_per_clock() {
    let h = created("high", "2026-06-01T09:00");
    let timers = due_timers(&h, &policy());
    assert_eq!(
        kinds(&timers),
        vec![
            (TimerKind::AcceptReminder, t("2026-06-01T09:30")),
            (TimerKind::AcceptBreach, t("2026-06-01T10:00")),
            (TimerKind::ResolveReminder, t("2026-06-01T11:00")),
            (TimerKind::ResolveBreach, t("2026-06-01T13:00")),
        ]
    );
}

#[test]
fn admission_refuses_what_the_policy_does_not_declare() {
    let policy = policy();
    let admit = |edit: &dyn Fn(&mut NewHandoff)| {
        let mut new = sample();
        new.workflow = "support-chat".into();
        edit(&mut new);
        admit(new, Uuid::nil(), "bot", &policy, t("2026-06-01T09:00")).err()
    };
    assert!(matches!(
        admit(&|n| n.workflow = "nope".into()),
        Some(AdmitError::Undeclared {
            field: "workflow",
            ..
        })
    ));
    assert!(matches!(
        admit(&|n| n.owner_group = Some("nope".into())),
        Some(AdmitError::Undeclared {
            field: "owner_group",
            ..
        })
    ));
    for (field, edit) in [
        (
            "reason",
            &(|n: &mut NewHandoff| n.reason = "nope".into()) as &dyn Fn(&mut NewHandoff),
        ),
        ("impact", &|n: &mut NewHandoff| n.impact = "nope".into()),
    ] {
        match admit(edit) {
            Some(AdmitError::Invalid(e)) => assert_eq!(e.field(), Some(field)),
            other => panic!("{field}: {other:?}"),
        }
    }
    let mut new = sample();
    new.workflow = "parked".into();
    let parked = super::admit(new, Uuid::nil(), "bot", &policy, t("2026-06-01T09:00")).unwrap();
    assert_eq!(
        parked.handoff.missing_fields,
        vec!["context.payload.order_id".to_owned()]
    );
    assert!(parked.timers.is_empty(), "a parked item arms nothing");
}

#[test]
fn a_claim_cancels_the_accept_timers() {
    let h = created("high", "2026-06-01T09:00");
    let claimed = step(
        &h,
        Action::Claim {
            assignee: "ana".into(),
        },
        "2026-06-01T09:10",
    );
    assert_eq!(
        kinds(&due_timers(&claimed, &policy())),
        vec![
            (TimerKind::ResolveReminder, t("2026-06-01T11:00")),
            (TimerKind::ResolveBreach, t("2026-06-01T13:00")),
        ]
    );
}

#[test]
fn the_claim_token_rule() {
    let policy = policy();
    let h = created("high", "2026-06-01T09:00");
    let claim = Claim {
        stored: None,
        presented: None,
        fresh: "tok-1",
    };
    let acted = act(
        &h,
        Action::Claim {
            assignee: "ana".into(),
        },
        "ana",
        claim,
        &policy,
        t("2026-06-01T09:01"),
    )
    .unwrap();
    assert_eq!(acted.claim_token.as_deref(), Some("tok-1"));
    assert!(acted.fresh_claim);
    let h = acted.reaction.handoff;
    let wrong = Claim {
        stored: Some("tok-1"),
        presented: Some("tok-2"),
        fresh: "x",
    };
    assert_eq!(
        act(
            &h,
            Action::Release,
            "bo",
            wrong,
            &policy,
            t("2026-06-01T09:02")
        )
        .err(),
        Some(ActError::ClaimMismatch)
    );
    let right = Claim {
        stored: Some("tok-1"),
        presented: Some("tok-1"),
        fresh: "x",
    };
    let released = act(
        &h,
        Action::Release,
        "ana",
        right,
        &policy,
        t("2026-06-01T09:02"),
    )
    .unwrap();
    assert_eq!(released.claim_token, None);
    assert!(!released.fresh_claim);
}

fn timer_of(h: &Handoff, kind: TimerKind) -> Timer {
    *due_timers(h, &policy())
        .iter()
        .find(|t| t.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} armed"))
}

#[test]
fn a_breach_fires_once_with_how_late_it_was() {
    let policy = policy();
    let h = created("high", "2026-06-01T09:00");
    let breach = timer_of(&h, TimerKind::AcceptBreach);
    let fired = fire(&h, &breach, &policy, t("2026-06-01T10:02"));
    assert_eq!(fired.events.len(), 1);
    let (kind, data) = &fired.events[0];
    assert_eq!(*kind, EventKind::SlaBreached);
    assert_eq!(data["clock"], "accept");
    assert_eq!(data["late_by_ms"], 120_000);
    assert_eq!(data["rule"], "impact:high");
    assert!(
        fired
            .timers
            .iter()
            .all(|t| t.kind.clock() == Some(Which::Resolve))
    );
    // The same timer again: nothing.
    let again = fire(&fired.handoff, &breach, &policy, t("2026-06-01T10:03"));
    assert!(again.events.is_empty());
    assert_eq!(again.handoff, fired.handoff);
}

#[test]
fn a_timer_never_fires_early_or_for_an_item_that_stopped_needing_it() {
    let policy = policy();
    let h = created("high", "2026-06-01T09:00");
    let breach = timer_of(&h, TimerKind::AcceptBreach);
    let early = fire(&h, &breach, &policy, t("2026-06-01T09:59"));
    assert!(early.events.is_empty());
    assert!(early.timers.contains(&breach), "still armed for later");
    let claimed = step(
        &h,
        Action::Claim {
            assignee: "ana".into(),
        },
        "2026-06-01T09:30",
    );
    let stale = fire(&claimed, &breach, &policy, t("2026-06-01T10:00"));
    assert!(stale.events.is_empty());
    // Paused while waiting: the resolve breach armed before is stale.
    let resolve_breach = timer_of(&claimed, TimerKind::ResolveBreach);
    let asked = step(
        &claimed,
        Action::RequestInfo {
            question: "?".into(),
        },
        "2026-06-01T10:00",
    );
    assert!(
        fire(&asked, &resolve_breach, &policy, t("2026-06-01T13:00"))
            .events
            .is_empty()
    );
}

#[test]
fn a_reminder_after_the_breach_point_gives_way_to_the_breach() {
    let policy = policy();
    let h = created("high", "2026-06-01T09:00");
    let reminder = timer_of(&h, TimerKind::AcceptReminder);
    // Fired only after the deadline (downtime): no reminder, the breach is still armed.
    let late = fire(&h, &reminder, &policy, t("2026-06-01T10:30"));
    assert!(late.events.is_empty());
    assert!(late.handoff.clocks.as_ref().unwrap().accept.reminded);
    assert_eq!(late.timers[0].kind, TimerKind::AcceptBreach);
    let on_time = fire(&h, &reminder, &policy, t("2026-06-01T09:30"));
    assert_eq!(on_time.events[0].0, EventKind::SlaWarned);
    assert_eq!(on_time.events[0].1["late_by_ms"], 0);
}

#[derive(Debug, Clone)]
enum Op {
    Claim,
    Release,
    Wait,
    Answer,
    Reassign,
    Resolve,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Claim),
        Just(Op::Release),
        Just(Op::Wait),
        Just(Op::Answer),
        Just(Op::Reassign),
        Just(Op::Resolve),
        Just(Op::Reopen),
    ]
}

fn action(op: &Op) -> Action {
    match op {
        Op::Claim => Action::Claim {
            assignee: "ana".into(),
        },
        Op::Release => Action::Release,
        Op::Wait => Action::RequestInfo {
            question: "which?".into(),
        },
        Op::Answer => Action::ProvideInfo {
            info: "this".into(),
        },
        Op::Reassign => Action::Reassign {
            owner_group: "triage".into(),
            reason: None,
        },
        Op::Resolve => Action::Resolve(
            serde_json::from_value(serde_json::json!({
                "resolution": "approved", "resolution_reason": "fixed"
            }))
            .unwrap(),
        ),
        Op::Reopen => Action::Reopen {
            reason: "again".into(),
        },
    }
}

/// Fires every armed timer due by `until`, in due order, each `lateness`
/// after it fell due (but not past `until`), checking each firing.
fn run_timers(
    h: &mut Handoff,
    armed: &mut Vec<Timer>,
    until: Timestamp,
    lateness: SignedDuration,
    fired: &mut Vec<(u32, TimerKind)>,
) -> Result<(), TestCaseError> {
    let policy = policy();
    let calendar = policy.calendar_for(h.impact.as_str());
    while let Some(next) = armed.iter().filter(|t| t.due_at <= until).min().copied() {
        let now = (next.due_at + lateness).min(until);
        let before = h.clone();
        let reaction = fire(h, &next, &policy, now);
        for (kind, _) in &reaction.events {
            let clocks = before.clocks.as_ref().unwrap();
            let clock = clocks.get(next.kind.clock().unwrap());
            prop_assert!(before.state.is_open(), "fired for a {} item", before.state);
            prop_assert_eq!(
                clock.state,
                ClockState::Running,
                "fired for a {:?} clock",
                clock.state
            );
            if *kind == EventKind::SlaBreached {
                prop_assert!(
                    clock.is_breached(&calendar, now),
                    "breach fired early at {}",
                    now
                );
            } else {
                let fraction = policy.impact(before.impact.as_str()).unwrap().reminder_at;
                let share = clock.timer.budget.as_secs_f64() * fraction;
                let used =
                    (clock.timer.budget - clock.timer.remaining(&calendar, now)).as_secs_f64();
                prop_assert!(
                    used + 1e-6 >= share,
                    "reminder fired early: {} of {}",
                    used,
                    share
                );
            }
            let key = (clocks.cycle, next.kind);
            prop_assert!(!fired.contains(&key), "{:?} fired twice", key);
            fired.push(key);
        }
        *h = reaction.handoff;
        *armed = reaction.timers;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn timers_fire_on_time_once_and_only_while_needed(
        steps in proptest::collection::vec((op(), 0u64..6 * 3600, 0u64..600), 0..25),
        impact in prop_oneof![Just("high"), Just("normal"), Just("wall")],
    ) {
        let policy = policy();
        let mut h = created(impact, "2026-06-01T08:00");
        let mut armed = due_timers(&h, &policy);
        let mut now = t("2026-06-01T08:00");
        let mut fired = Vec::new();
        for (op, gap, late) in steps {
            let at = now + SignedDuration::from_secs(gap as i64);
            run_timers(&mut h, &mut armed, at, SignedDuration::from_secs(late as i64), &mut fired)?;
            now = at;
            let claim = Claim { stored: Some("tok"), presented: Some("tok"), fresh: "tok" };
            if let Ok(acted) = act(&h, action(&op), "ana", claim, &policy, now) {
                h = acted.reaction.handoff;
                armed = acted.reaction.timers;
            }
        }
        // Far in the future every clock still running has breached, once.
        let end = now + SignedDuration::from_hours(24 * 14);
        run_timers(&mut h, &mut armed, end, SignedDuration::ZERO, &mut fired)?;
        let cycle = h.clocks.as_ref().unwrap().cycle;
        for which in Which::BOTH {
            let clock = h.clocks.as_ref().unwrap().get(which);
            if clock.state == ClockState::Running {
                let kind = if which == Which::Accept { TimerKind::AcceptBreach } else { TimerKind::ResolveBreach };
                prop_assert!(fired.contains(&(cycle, kind)), "{:?} never fired", kind);
            }
        }
        prop_assert!(armed.is_empty() || armed.iter().all(|t| t.due_at > end));
    }
}

fn note(
    h: &Handoff,
    visibility: crate::NoteVisibility,
    promise: Option<&str>,
    at: &str,
) -> Result<Acted, ActError> {
    let claim = Claim {
        stored: None,
        presented: None,
        fresh: "x",
    };
    act(
        h,
        Action::AddNote {
            text: "we are on it".into(),
            visibility,
            next_update_at: promise.map(t),
        },
        "ana",
        claim,
        &policy(),
        t(at),
    )
}

#[test]
fn a_promised_customer_update_has_its_own_timer() {
    use crate::NoteVisibility::{Customer, Internal};
    let policy = policy();
    let h = created("wall", "2026-06-01T09:00");
    let promised = note(&h, Customer, Some("2026-06-01T10:00"), "2026-06-01T09:05")
        .unwrap()
        .reaction
        .handoff;
    assert_eq!(promised.next_update_at, Some(t("2026-06-01T10:00")));
    let timer = timer_of(&promised, TimerKind::NextUpdate);
    assert!(
        fire(&promised, &timer, &policy, t("2026-06-01T09:59"))
            .events
            .is_empty(),
        "never early"
    );
    let due = fire(&promised, &timer, &policy, t("2026-06-01T10:01"));
    assert_eq!(due.events[0].0, EventKind::UpdateDue);
    assert_eq!(due.events[0].1["late_by_ms"], 60_000);
    assert_eq!(due.handoff.next_update_at, None);
    assert!(
        fire(&due.handoff, &timer, &policy, t("2026-06-01T10:02"))
            .events
            .is_empty(),
        "once"
    );
    // A customer update before the promise keeps it: no timer left.
    let kept = note(&promised, Customer, None, "2026-06-01T09:30")
        .unwrap()
        .reaction;
    assert!(kept.timers.iter().all(|t| t.kind != TimerKind::NextUpdate));
    assert!(
        fire(&kept.handoff, &timer, &policy, t("2026-06-01T10:00"))
            .events
            .is_empty()
    );
    // Only a customer-safe note promises, and only a time to come.
    for (visibility, promise) in [
        (Internal, "2026-06-01T10:00"),
        (Customer, "2026-06-01T09:00"),
    ] {
        match note(&h, visibility, Some(promise), "2026-06-01T09:05") {
            Err(ActError::Domain(e)) => assert_eq!(e.field(), Some("next_update_at")),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_assignment_arms_its_expiry_and_expires_unclaimed() {
    let policy = policy();
    let h = created("high", "2026-06-01T09:00");
    let now = t("2026-06-01T09:05");
    let offered = assign(&h, "ana", "round_robin", &policy, now).unwrap();
    assert_eq!(offered.handoff.state, LifecycleState::Pending);
    assert_eq!(offered.handoff.assignee.as_deref(), Some("ana"));
    assert_eq!(offered.handoff.assigned_at, Some(now));
    assert_eq!(offered.events[0].0, EventKind::Assigned);
    assert_eq!(offered.events[0].1["assignee"], "ana");
    let expiry = *offered
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::AssignmentExpiry)
        .expect("the offer's expiry is armed");
    // `high` accepts within an hour.
    assert_eq!(expiry.due_at, t("2026-06-01T10:05"));
    // Assigned already: refused, nothing changes.
    assert!(assign(&offered.handoff, "bo", "round_robin", &policy, now).is_err());
    // Not yet due: nothing.
    let early = fire(&offered.handoff, &expiry, &policy, t("2026-06-01T10:00"));
    assert!(early.events.is_empty());
    let expired = fire(&offered.handoff, &expiry, &policy, t("2026-06-01T10:06"));
    assert_eq!(expired.events.len(), 1);
    let (kind, data) = &expired.events[0];
    assert_eq!(*kind, EventKind::AssignmentExpired);
    assert_eq!(data["assignee"], "ana");
    assert_eq!(expired.actor.as_deref(), Some(SCHEDULER));
    assert_eq!(expired.handoff.assignee, None);
    assert_eq!(expired.handoff.assigned_at, None);
    assert!(
        expired
            .timers
            .iter()
            .all(|t| t.kind != TimerKind::AssignmentExpiry)
    );
    // Free to be assigned again.
    assert!(
        assign(
            &expired.handoff,
            "bo",
            "round_robin",
            &policy,
            t("2026-06-01T10:06")
        )
        .is_ok()
    );
}

#[test]
fn a_claim_ends_the_offer_and_its_expiry_is_stale() {
    let policy = policy();
    let h = created("high", "2026-06-01T09:00");
    let offered = assign(&h, "ana", "least_loaded", &policy, t("2026-06-01T09:05")).unwrap();
    let expiry = *offered
        .timers
        .iter()
        .find(|t| t.kind == TimerKind::AssignmentExpiry)
        .unwrap();
    let claim = Claim {
        stored: None,
        presented: None,
        fresh: "tok",
    };
    let claimed = act(
        &offered.handoff,
        Action::Claim {
            assignee: "ana".into(),
        },
        "ana",
        claim,
        &policy,
        t("2026-06-01T09:10"),
    )
    .unwrap()
    .reaction;
    assert_eq!(claimed.handoff.assignee.as_deref(), Some("ana"));
    assert_eq!(claimed.handoff.assigned_at, None);
    assert!(
        claimed
            .timers
            .iter()
            .all(|t| t.kind != TimerKind::AssignmentExpiry)
    );
    let stale = fire(&claimed.handoff, &expiry, &policy, t("2026-06-01T10:06"));
    assert!(stale.events.is_empty());
    assert_eq!(stale.handoff, claimed.handoff);
    // Not pending any more: not assignable.
    assert!(
        assign(
            &claimed.handoff,
            "bo",
            "round_robin",
            &policy,
            t("2026-06-01T10:06")
        )
        .is_err()
    );
}
