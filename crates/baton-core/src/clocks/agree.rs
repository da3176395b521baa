//! One scripted history judged by all three SLA figures: `/metrics`' rule
//! ([`react::stopped`] after each action), the reports' (a [`Histories`]
//! fold under the policy and [`summarize`]) and `replay --simulate`'s
//! ([`simulate`] over a [`Timeline`]); and the `sla_breached` events the
//! scheduler's firings ([`react::fire`]) write. All four must agree.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

use super::Which;
use super::tests::{policy, t};
use crate::eventlog::{Timeline, simulate};
use crate::handoff::tests::sample;
use crate::react::{self, Claim};
use crate::report::{GroupBy, Histories, summarize};
use crate::timers::Timer;
use crate::{Action, Event, EventKind, Handoff, ReceiptInput};

fn resolve() -> Action {
    Action::Resolve(
        serde_json::from_value::<ReceiptInput>(serde_json::json!({
            "resolution": "approved", "resolution_reason": "fixed", "changes": "refunded"
        }))
        .unwrap(),
    )
}

/// What the server would have done: the events of the log, and per action
/// the clocks it stopped with their verdicts (what `/metrics` counts).
struct Served {
    created: Handoff,
    log: Vec<(EventKind, Timestamp, Value)>,
    metrics: Vec<(Which, bool)>,
}

/// Admits a `high` handoff (accept 1h, resolve 4h of Mon–Fri 09–17 UTC,
/// reminders at half, paused while waiting) at `script[0]`'s time and acts,
/// firing every timer due before each action and then up to `end`.
fn serve(created_at: &str, script: Vec<(&str, Action)>, end: &str) -> Served {
    let policy = policy();
    let mut new = sample();
    new.impact = "high".into();
    new.workflow = "support-chat".into();
    let admitted = react::admit(new, Uuid::nil(), "bot", &policy, t(created_at)).unwrap();
    let created = admitted.handoff.clone();
    let mut h = admitted.handoff;
    let mut timers: Vec<Timer> = admitted.timers;
    let mut log = Vec::new();
    let mut metrics = Vec::new();
    let mut token: Option<String> = None;
    let mut last = t(created_at);
    let fire_until = |h: &mut Handoff,
                      timers: &mut Vec<Timer>,
                      log: &mut Vec<(EventKind, Timestamp, Value)>,
                      last: Timestamp,
                      until: Timestamp| {
        while let Some(timer) = timers.iter().find(|x| x.due_at <= until).copied() {
            let now = timer.due_at.max(last);
            let r = react::fire(h, &timer, &policy, now);
            log.extend(r.events.into_iter().map(|(k, d)| (k, now, d)));
            *h = r.handoff;
            *timers = r.timers;
        }
    };
    for (at, action) in script {
        fire_until(&mut h, &mut timers, &mut log, last, t(at));
        let claim = Claim {
            stored: token.as_deref(),
            presented: token.as_deref(),
            fresh: "tok",
        };
        let acted = react::act(&h, action, "ann", claim, &policy, t(at)).unwrap();
        metrics.extend(react::stopped(&acted.reaction.handoff, &policy, t(at)).unwrap());
        for (kind, data) in acted.reaction.events {
            log.push((kind, t(at), data));
        }
        h = acted.reaction.handoff;
        timers = acted.reaction.timers;
        token = acted.claim_token;
        last = t(at);
    }
    fire_until(&mut h, &mut timers, &mut log, last, t(end));
    Served {
        created,
        log,
        metrics,
    }
}

#[test]
fn metrics_reports_simulate_and_events_give_the_same_breaches() {
    let info = |q: &str| Action::RequestInfo { question: q.into() };
    let answer = || Action::ProvideInfo {
        info: "here".into(),
    };
    let claim = || Action::Claim {
        assignee: "ann".into(),
    };
    let reopen = || Action::Reopen {
        reason: "again".into(),
    };
    // Monday 2026-06-01 09:00.
    let served = serve(
        "2026-06-01T09:00",
        vec![
            // Cycle 0: claimed in 40 min (accept met); waits from Monday
            // 10:00 to Tuesday 10:00 (paused), resolved Tuesday 12:00 after
            // 3h of working time (met; the deadline fixed at creation,
            // Monday 13:00, would call it breached).
            ("2026-06-01T09:40", claim()),
            ("2026-06-01T10:00", info("which order?")),
            ("2026-06-02T10:00", answer()),
            ("2026-06-02T12:00", resolve()),
            // Cycle 1: reopened; claimed after 1h30 (accept breached);
            // 2h + 1h + 2h of working time to resolve (breached).
            ("2026-06-02T13:00", reopen()),
            ("2026-06-02T14:30", claim()),
            ("2026-06-02T15:00", info("and the date?")),
            ("2026-06-02T16:00", answer()),
            ("2026-06-03T11:00", resolve()),
            // Cycle 2: reopened, not claimed by the end (accept breached at
            // 13:00; 3h of the 4h to resolve used).
            ("2026-06-03T12:00", reopen()),
        ],
        "2026-06-03T15:00",
    );
    let end = t("2026-06-03T15:00");
    let policy = policy();

    // `/metrics`: the clocks each claim and resolution stopped.
    use Which::{Accept, Resolve};
    assert_eq!(
        served.metrics,
        vec![
            (Accept, false),
            (Resolve, false),
            (Accept, true),
            (Resolve, true)
        ]
    );
    let metric = |which| {
        served
            .metrics
            .iter()
            .filter(|(w, b)| *w == which && *b)
            .count() as u64
    };

    // The scheduler's `sla_warned` and `sla_breached` events.
    let mut events: HashMap<(EventKind, String), u64> = HashMap::new();
    for (kind, _, data) in &served.log {
        if matches!(kind, EventKind::SlaWarned | EventKind::SlaBreached) {
            *events
                .entry((*kind, data["clock"].as_str().unwrap().to_owned()))
                .or_default() += 1;
        }
    }
    let event = |kind, clock: &str| events.get(&(kind, clock.to_owned())).copied().unwrap_or(0);

    // Reports: the log folded under the policy, judged at the end.
    let id = served.created.id;
    let mut log = vec![Event {
        position: 0,
        handoff_id: id,
        seq: 1,
        kind: EventKind::Created,
        actor: "bot".into(),
        at: served.created.created_at,
        data: serde_json::to_value(&served.created).unwrap(),
        prev_hash: String::new(),
        hash: String::new(),
    }];
    for (i, (kind, at, data)) in served.log.iter().enumerate() {
        log.push(Event {
            seq: i as i64 + 2,
            kind: *kind,
            at: *at,
            data: data.clone(),
            ..log[0].clone()
        });
    }
    let mut histories = Histories::with_policy(Arc::new(policy.clone()));
    for e in &log {
        histories.apply(e);
    }
    let working = |impact: &str, a: Timestamp, b: Timestamp| {
        policy.calendar_for(impact).working_between(a, b)
    };
    let summary = summarize(
        histories.items.iter().map(|(_, h)| h),
        None,
        None,
        GroupBy::Impact,
        end,
        &working,
    );
    let (accept, resolve) = (&summary.total.sla_accept, &summary.total.sla_resolve);

    // `replay --simulate`: the same log as a timeline.
    let timeline =
        Timeline::from_events(&served.created, log.iter().map(|e| (e.kind, e.at, &e.data)));
    let sim = simulate([&timeline], &policy, end).by_impact["high"].clone();

    // Accept: met, breached, and the open cycle breached at the end.
    assert_eq!(metric(Accept), 1, "stopped cycles only");
    assert_eq!(event(EventKind::SlaBreached, "accept"), 2);
    assert_eq!((accept.due, accept.met), (3, 1));
    assert_eq!(sim.accept_breaches, 2);
    assert_eq!(accept.due - accept.met, sim.accept_breaches);
    // Resolve: met, breached, the open cycle not yet.
    assert_eq!(metric(Resolve), 1);
    assert_eq!(event(EventKind::SlaBreached, "resolve"), 1);
    assert_eq!((resolve.due, resolve.met), (2, 1));
    assert_eq!(sim.resolve_breaches, 1);
    // Reminders: one per cycle on each clock, as the scheduler fired them.
    assert_eq!(event(EventKind::SlaWarned, "accept"), 3);
    assert_eq!(event(EventKind::SlaWarned, "resolve"), 3);
    assert_eq!((sim.accept_reminders, sim.resolve_reminders), (3, 3));
}
