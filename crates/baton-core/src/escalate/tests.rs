//! Escalation chains as effects: every stop condition, each action, and the
//! failures on-call tools shipped (notifying after the acknowledgement, a
//! step for an item acknowledged long ago).

use uuid::Uuid;

use crate::clocks::tests::{POLICY, t};
use crate::handoff::tests::sample;
use crate::policy::Policy;
use crate::react::{self, Claim, Reaction};
use crate::timers::{Timer, TimerKind};
use crate::{Action, EventKind, Handoff, LifecycleState, Resolution};

const CHAIN: &str = r#"
[[group]]
name = "specialists"

[[channel]]
name = "desk"
kind = "webhook"
url = "https://hooks.example.com/desk"
secret_env = "BATON_WHSEC_DESK"
events = ["breach"]

[[channel]]
name = "traders"
kind = "webhook"
url = "https://hooks.example.com/traders"
secret_env = "BATON_WHSEC_TRADERS"
events = ["executed"]

[[escalation]]
id = "wall-chain"
when = 'impact == "wall"'

[[escalation.level]]
after = "accept_breach"
notify = ["desk"]
reassign = "specialists"
raise_impact = "high"

[[escalation.level.fanout]]
role = "traders"
channel = "traders"
context = ["payload.amount", "ai_assessment"]

[[escalation.level]]
after = "30m"
repeat = 1
every = "10m"
notify = ["desk"]

[[escalation.level]]
after = "resolve_breach"
auto = "reject"
"#;

fn policy() -> Policy {
    Policy::build(&format!("{POLICY}{CHAIN}"), &|p: &str| {
        Err(format!("no file {p}"))
    })
    .unwrap()
}

fn created() -> Handoff {
    let mut new = sample();
    new.workflow = "support-chat".into();
    new.impact = "wall".into();
    react::admit(new, Uuid::nil(), "bot", &policy(), t("2026-06-01T09:00"))
        .unwrap()
        .handoff
}

fn escalation_timer(h: &Handoff) -> Option<Timer> {
    crate::timers::due_timers(h, &policy())
        .into_iter()
        .find(|t| t.kind == TimerKind::Escalation)
}

/// Fires the armed escalation level at `at`.
fn fire(h: &Handoff, at: &str) -> Reaction {
    let timer = escalation_timer(h).expect("an escalation level is armed");
    react::fire(h, &timer, &policy(), t(at))
}

fn claim(h: &Handoff, at: &str) -> Handoff {
    let claim = Claim {
        stored: None,
        presented: None,
        fresh: "tok",
    };
    react::act(
        h,
        Action::Claim {
            assignee: "ana".into(),
        },
        "ana",
        claim,
        &policy(),
        t(at),
    )
    .unwrap()
    .reaction
    .handoff
}

#[test]
fn the_first_level_waits_for_the_accept_breach_and_does_everything_it_says() {
    let h = created();
    assert_eq!(h.escalation.as_ref().unwrap().chain, "wall-chain");
    assert_eq!(escalation_timer(&h).unwrap().due_at, t("2026-06-01T09:15"));
    let early = react::fire(
        &h,
        &escalation_timer(&h).unwrap(),
        &policy(),
        t("2026-06-01T09:14"),
    );
    assert!(early.events.is_empty(), "never early");
    let fired = fire(&h, "2026-06-01T09:15");
    let (kind, data) = &fired.events[0];
    assert_eq!(*kind, EventKind::Escalated);
    assert_eq!(data["level"], 1);
    assert_eq!(data["rule"], "escalation:wall-chain");
    assert_eq!(fired.actor.as_deref(), Some("policy:wall-chain"));
    let after = &fired.handoff;
    assert_eq!(after.owner_group.as_str(), "specialists");
    assert_eq!(after.impact.as_str(), "high");
    assert_eq!(after.state, LifecycleState::Pending);
    assert_eq!(after.escalation_count, 1);
    // The desk channel by the level's notify; the traders role with its share only.
    let channels: Vec<_> = fired
        .notifications
        .iter()
        .map(|n| (n.channel.as_str(), n.role.as_deref()))
        .collect();
    assert_eq!(channels, [("desk", None), ("traders", Some("traders"))]);
    let share = &fired.notifications[1].payload["data"]["context"];
    assert_eq!(share["payload"], serde_json::json!({"amount": 900}));
    assert!(share["ai_assessment"].is_object());
    assert!(share.get("summary").is_none() && share.get("messages").is_none());
    assert!(
        fired.notifications[0].payload["data"]
            .get("context")
            .is_none()
    );
}

#[test]
fn a_delay_level_counts_from_the_previous_level_and_repeats() {
    let h = fire(&created(), "2026-06-01T09:15").handoff;
    assert_eq!(escalation_timer(&h).unwrap().due_at, t("2026-06-01T09:45"));
    let first = fire(&h, "2026-06-01T09:45");
    assert_eq!(first.events[0].1["repeat"], 0);
    assert_eq!(
        escalation_timer(&first.handoff).unwrap().due_at,
        t("2026-06-01T09:55")
    );
    let second = fire(&first.handoff, "2026-06-01T09:55");
    assert_eq!(second.events[0].1["repeat"], 1);
    // Then the resolve-breach level: the raised impact's 4 h resolve clock on office hours.
    let next = escalation_timer(&second.handoff).unwrap();
    assert_eq!(next.level, 2);
}

#[test]
fn the_claim_stops_the_acceptance_levels_and_never_notifies_after_it() {
    let h = created();
    let claimed = claim(&h, "2026-06-01T09:10");
    // Acceptance levels skipped: the chain waits on the resolve breach only.
    let progress = claimed.escalation.as_ref().unwrap();
    assert_eq!(progress.level, 2);
    let armed = escalation_timer(&claimed).unwrap();
    assert_eq!(armed.due_at, t("2026-06-01T10:00"));
    // The level-1 timer armed before the claim is stale: nothing happens.
    let stale = react::fire(
        &claimed,
        &escalation_timer(&h).unwrap(),
        &policy(),
        t("2026-06-01T09:15"),
    );
    assert!(stale.events.is_empty() && stale.notifications.is_empty());
    // An item acknowledged long ago: still nothing but its own level.
    let later = react::fire(
        &claimed,
        &escalation_timer(&h).unwrap(),
        &policy(),
        t("2026-06-03T09:00"),
    );
    assert!(later.events.is_empty());
}

#[test]
fn the_automatic_action_is_the_policys_never_a_persons() {
    let h = claim(&created(), "2026-06-01T09:05");
    let fired = fire(&h, "2026-06-01T10:00");
    let kinds: Vec<_> = fired.events.iter().map(|(k, _)| *k).collect();
    assert_eq!(kinds, [EventKind::Escalated, EventKind::Resolved]);
    let receipt = fired.handoff.receipt.as_ref().unwrap();
    assert_eq!(receipt.decided_by, "policy:wall-chain");
    assert!(receipt.automatic);
    assert_eq!(receipt.resolution, Resolution::Rejected);
    assert_eq!(fired.handoff.state, LifecycleState::Resolved);
    assert!(fired.timers.is_empty(), "a resolved item needs no timer");
    assert!(fired.handoff.escalation.as_ref().unwrap().done);
}

#[test]
fn resolving_ends_the_chain_and_a_reopen_runs_it_again() {
    let h = claim(&created(), "2026-06-01T09:05");
    let claim = Claim {
        stored: Some("tok"),
        presented: Some("tok"),
        fresh: "x",
    };
    let receipt = serde_json::from_value(
        serde_json::json!({"resolution": "approved", "resolution_reason": "fixed"}),
    )
    .unwrap();
    let resolved = react::act(
        &h,
        Action::Resolve(receipt),
        "ana",
        claim,
        &policy(),
        t("2026-06-01T09:20"),
    )
    .unwrap()
    .reaction;
    assert!(resolved.handoff.escalation.as_ref().unwrap().done);
    assert!(escalation_timer(&resolved.handoff).is_none());
    let reopened = react::act(
        &resolved.handoff,
        Action::Reopen {
            reason: "bounced".into(),
        },
        "ana",
        Claim {
            stored: None,
            presented: None,
            fresh: "y",
        },
        &policy(),
        t("2026-06-01T11:00"),
    )
    .unwrap()
    .reaction;
    let progress = reopened.handoff.escalation.as_ref().unwrap();
    assert_eq!((progress.level, progress.done), (0, false));
    assert_eq!(
        escalation_timer(&reopened.handoff).unwrap().due_at,
        t("2026-06-01T11:15")
    );
}

#[test]
fn a_level_on_a_paused_clock_waits() {
    let h = claim(&created(), "2026-06-01T09:05");
    let claim = Claim {
        stored: Some("tok"),
        presented: Some("tok"),
        fresh: "x",
    };
    let waiting = react::act(
        &h,
        Action::RequestInfo {
            question: "?".into(),
        },
        "ana",
        claim,
        &policy(),
        t("2026-06-01T09:30"),
    )
    .unwrap()
    .reaction;
    assert!(
        escalation_timer(&waiting.handoff).is_none(),
        "the resolve clock is paused"
    );
}
