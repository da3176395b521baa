//! Table tests of the live SLA clocks: business hours, pauses, impact
//! changes, reopen.

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::*;
use crate::handoff::tests::sample;
use crate::{Action, NoteVisibility, ReceiptInput};

/// Two impacts on a Mon–Fri 09:00–17:00 UTC calendar (one that keeps
/// counting while waiting) and one on the wall clock.
pub(crate) const POLICY: &str = r#"
[[workflow]]
name = "support-chat"
default_group = "triage"

[[workflow]]
name = "parked"
default_group = "triage"
on_incomplete = "needs_context"
contract = { type = "object", required = ["order_id"] }

[reasons.handoff]
policy_exception = "outside what the automation may decide"

[[calendar]]
name = "office"
time_zone = "UTC"
hours = { mon = ["09:00-17:00"], tue = ["09:00-17:00"], wed = ["09:00-17:00"], thu = ["09:00-17:00"], fri = ["09:00-17:00"] }

[[impact]]
name = "high"
rank = 1
accept_within = "1h"
resolve_within = "4h"
calendar = "office"
reminder_at = 0.5

[[impact]]
name = "normal"
rank = 2
accept_within = "2h"
resolve_within = "8h"
calendar = "office"
pause_while_waiting = false

[[impact]]
name = "wall"
rank = 3
accept_within = "15m"
resolve_within = "1h"

[[group]]
name = "triage"

[[route]]
id = "default"
group = "triage"
"#;

pub(crate) fn policy() -> Policy {
    Policy::build(POLICY, &|p: &str| Err(format!("no file {p}"))).unwrap()
}

/// `"2026-06-01T09:00"` (a Monday) as a UTC instant.
pub(crate) fn t(local: &str) -> Timestamp {
    format!("{local}:00Z").parse().unwrap()
}

pub(crate) fn created(impact: &str, at: &str) -> Handoff {
    let mut new = sample();
    new.impact = impact.to_owned();
    new.workflow = "support-chat".to_owned();
    crate::react::admit(new, Uuid::nil(), "bot", &policy(), t(at))
        .unwrap()
        .handoff
}

pub(crate) fn step(h: &Handoff, action: Action, at: &str) -> Handoff {
    let claim = h.assignee.clone();
    crate::react::act(
        h,
        action,
        "ana",
        crate::react::Claim {
            stored: claim.as_deref(),
            presented: claim.as_deref(),
            fresh: "ana",
        },
        &policy(),
        t(at),
    )
    .unwrap()
    .reaction
    .handoff
}

fn claim() -> Action {
    Action::Claim {
        assignee: "ana".into(),
    }
}

fn resolve() -> Action {
    Action::Resolve(
        serde_json::from_value::<ReceiptInput>(serde_json::json!({
            "resolution": "approved", "resolution_reason": "fixed", "changes": "refunded"
        }))
        .unwrap(),
    )
}

#[test]
fn deadlines_run_on_the_impact_calendar() {
    // Friday 16:30: half an hour left on Friday, the rest on Monday.
    let h = created("high", "2026-06-05T16:30");
    assert_eq!(h.accept_by, Some(t("2026-06-08T09:30")));
    assert_eq!(h.resolve_by, Some(t("2026-06-08T12:30")));
    // Created at night: the clock starts at the next opening.
    let h = created("high", "2026-06-01T20:00");
    assert_eq!(h.accept_by, Some(t("2026-06-02T10:00")));
    // Wall clock: no calendar.
    let h = created("wall", "2026-06-06T23:50");
    assert_eq!(h.accept_by, Some(t("2026-06-07T00:05")));
    assert_eq!(h.resolve_by, Some(t("2026-06-07T00:50")));
}

#[test]
fn claim_stops_time_to_accept_and_keeps_its_deadline() {
    let h = created("high", "2026-06-01T09:00");
    let policy = policy();
    let calendar = policy.calendar_for("high");
    let on_time = step(&h, claim(), "2026-06-01T09:40");
    let clocks = on_time.clocks.as_ref().unwrap();
    assert_eq!(clocks.accept.state, ClockState::Stopped);
    assert_eq!(clocks.accept.stopped_at, Some(t("2026-06-01T09:40")));
    assert_eq!(on_time.accept_by, Some(t("2026-06-01T10:00")));
    assert!(!clocks.accept.is_breached(&calendar, t("2026-06-09T00:00")));
    let late = step(&h, claim(), "2026-06-01T10:00");
    assert!(
        late.clocks
            .unwrap()
            .accept
            .is_breached(&calendar, t("2026-06-01T10:00"))
    );
    // A release does not restart time to accept.
    let released = step(&on_time, Action::Release, "2026-06-01T11:00");
    assert_eq!(released.clocks.unwrap().accept.state, ClockState::Stopped);
}

#[test]
fn waiting_pauses_the_resolve_clock_across_business_hours() {
    let h = created("high", "2026-06-01T09:00");
    let h = step(&h, claim(), "2026-06-01T09:30");
    assert_eq!(h.resolve_by, Some(t("2026-06-01T13:00")));
    let asked = step(
        &h,
        Action::RequestInfo {
            question: "which order?".into(),
        },
        "2026-06-01T10:00",
    );
    let clocks = asked.clocks.as_ref().unwrap();
    assert_eq!(clocks.resolve.state, ClockState::Paused);
    assert_eq!(asked.resolve_by, None, "no deadline while paused");
    // Answered next morning: 1h of 4h used, 3h left from Tuesday 09:00.
    let answered = step(
        &asked,
        Action::ProvideInfo {
            info: "order 42".into(),
        },
        "2026-06-02T09:00",
    );
    assert_eq!(answered.resolve_by, Some(t("2026-06-02T12:00")));
    // Answered at 16:00 on Monday: 1h used, 6h waited, 1h left Monday and 2h Tuesday.
    let answered = step(
        &asked,
        Action::ProvideInfo {
            info: "order 42".into(),
        },
        "2026-06-01T16:00",
    );
    assert_eq!(answered.resolve_by, Some(t("2026-06-02T11:00")));
}

#[test]
fn an_impact_that_counts_while_waiting_keeps_its_deadline() {
    let h = created("normal", "2026-06-01T09:00");
    let h = step(&h, claim(), "2026-06-01T09:10");
    let asked = step(
        &h,
        Action::RequestInfo {
            question: "which order?".into(),
        },
        "2026-06-01T10:00",
    );
    assert_eq!(
        asked.clocks.as_ref().unwrap().resolve.state,
        ClockState::Running
    );
    assert_eq!(asked.resolve_by, Some(t("2026-06-01T17:00")));
}

#[test]
fn an_impact_change_keeps_the_time_used_and_takes_the_new_budget() {
    let policy = policy();
    let h = created("normal", "2026-06-01T09:00");
    // At 10:00, 1h of resolve time is used; the new impact leaves 4h - 1h.
    let mut raised = h.clone();
    raised.impact = crate::Label::parse("impact", "high").unwrap();
    follow(
        Some(&h),
        &mut raised,
        crate::EventKind::Escalated,
        &policy,
        t("2026-06-01T10:00"),
    );
    assert_eq!(raised.resolve_by, Some(t("2026-06-01T13:00")));
    assert_eq!(raised.accept_by, Some(t("2026-06-01T10:00")));
    // Raised past its accept budget: breached at once.
    let mut late = h.clone();
    late.impact = crate::Label::parse("impact", "high").unwrap();
    follow(
        Some(&h),
        &mut late,
        crate::EventKind::Escalated,
        &policy,
        t("2026-06-01T10:30"),
    );
    let calendar = policy.calendar_for("high");
    assert!(
        late.clocks
            .unwrap()
            .accept
            .is_breached(&calendar, t("2026-06-01T10:30"))
    );
}

#[test]
fn resolve_stops_and_reopen_starts_a_new_cycle() {
    let h = created("high", "2026-06-01T09:00");
    let h = step(&h, claim(), "2026-06-01T09:10");
    let resolved = step(&h, resolve(), "2026-06-01T11:00");
    let clocks = resolved.clocks.as_ref().unwrap();
    assert_eq!(clocks.resolve.state, ClockState::Stopped);
    assert_eq!(resolved.resolve_by, Some(t("2026-06-01T13:00")));
    let reopened = step(
        &resolved,
        Action::Reopen {
            reason: "refund bounced".into(),
        },
        "2026-06-01T15:00",
    );
    let clocks = reopened.clocks.as_ref().unwrap();
    assert_eq!(clocks.cycle, 1);
    assert_eq!(clocks.accept.state, ClockState::Running);
    assert!(!clocks.accept.reminded && !clocks.resolve.breach_fired);
    assert_eq!(reopened.accept_by, Some(t("2026-06-01T16:00")));
    // 2h today, 2h on Tuesday.
    assert_eq!(reopened.resolve_by, Some(t("2026-06-02T11:00")));
}

#[test]
fn a_parked_item_starts_its_clocks_when_the_context_arrives() {
    let policy = policy();
    let mut new = sample();
    new.workflow = "parked".into();
    new.impact = "wall".into();
    let h = crate::react::admit(new, Uuid::nil(), "bot", &policy, t("2026-06-01T09:00"))
        .unwrap()
        .handoff;
    assert_eq!(h.state, LifecycleState::NeedsContext);
    assert_eq!((h.accept_by, h.resolve_by), (None, None));
    let mut payload = serde_json::Map::new();
    payload.insert("order_id".into(), "42".into());
    let h = step(&h, Action::ProvideContext { payload }, "2026-06-01T12:00");
    assert_eq!(h.accept_by, Some(t("2026-06-01T12:15")));
    assert_eq!(h.resolve_by, Some(t("2026-06-01T13:00")));
}

#[test]
fn notes_change_no_clock() {
    let h = created("high", "2026-06-01T09:00");
    let noted = step(
        &h,
        Action::AddNote {
            text: "looking".into(),
            visibility: NoteVisibility::Internal,
            next_update_at: None,
        },
        "2026-06-01T09:30",
    );
    assert_eq!(noted.clocks, h.clocks);
    assert_eq!(
        noted.clocks.unwrap().accept.timer.budget,
        SignedDuration::from_hours(1)
    );
}
