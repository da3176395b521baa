//! Conformance cases for timers: firing many in one command does what
//! firing each on its own does, exactly once.

use std::sync::Arc;

use baton_core::timers::{Timer, TimerKind};
use baton_core::{ChainVerdict, EventKind, NewHandoff};
use jiff::SignedDuration;
use serde_json::json;
use uuid::Uuid;

use super::fixtures::{at, policy};
use crate::{CreateHandoff, FireTimer, FireTimers, Fired, Store, verify_audit};

/// A `critical` handoff of the default policy created at `at(0)`; its
/// armed timers, soonest first.
async fn critical(store: &dyn Store) -> Vec<Timer> {
    let new: NewHandoff = serde_json::from_value(json!({
        "workflow": "default", "subject": {"source": "s", "ref": "r"},
        "title": "t", "impact": "critical", "reason": "fraud",
    }))
    .expect("valid handoff");
    let admitted =
        baton_core::react::admit(new, Uuid::now_v7(), "bot", &policy(), at(0)).expect("admitted");
    let timers = admitted.timers.clone();
    store
        .create_handoff(CreateHandoff {
            handoff: admitted.handoff,
            timers: admitted.timers,
            notifications: admitted.notifications,
            idempotency: None,
        })
        .await
        .expect("create");
    timers
}

fn kind(timers: &[Timer], kind: TimerKind) -> Timer {
    *timers.iter().find(|t| t.kind == kind).expect("armed")
}

/// What a firing did, without ids: taken, and the event kinds.
fn shape(fired: &[Fired]) -> Vec<(bool, Vec<EventKind>)> {
    fired
        .iter()
        .map(|f| (f.taken, f.events.iter().map(|e| e.kind).collect()))
        .collect()
}

/// Sixteen minutes after creation both accept timers are due. In one
/// command: h1's reminder (passed over: the clock is already breached)
/// then its breach, h2's breach twice, and a timer armed at another time:
/// the same answers, events and timers as one command per timer, and
/// firing them all again takes nothing.
pub async fn fired_timers_fire_once_as_one_command_per_timer(store: Arc<dyn Store>) {
    let now = at(16 * 60);
    let mut answers = Vec::new();
    let mut left = Vec::new();
    for together in [true, false] {
        let h1 = critical(store.as_ref()).await;
        let h2 = critical(store.as_ref()).await;
        let breach2 = kind(&h2, TimerKind::AcceptBreach);
        let elsewhen = Timer {
            due_at: breach2.due_at + SignedDuration::from_micros(1),
            ..breach2
        };
        let timers = vec![
            kind(&h1, TimerKind::AcceptReminder),
            kind(&h1, TimerKind::AcceptBreach),
            breach2,
            breach2,
            elsewhen,
        ];
        let fired = if together {
            store
                .fire_timers(FireTimers {
                    timers: timers.clone(),
                    policy: policy(),
                    now,
                })
                .await
                .expect("fire")
        } else {
            let mut fired = Vec::new();
            for timer in &timers {
                let cmd = FireTimer {
                    timer: *timer,
                    policy: policy(),
                    now,
                };
                fired.push(store.fire_timer(cmd).await.expect("fire"));
            }
            fired
        };
        answers.push(shape(&fired));
        let mut kinds = Vec::new();
        for h in [&h1, &h2] {
            let armed = store.handoff_timers(h[0].handoff_id).await.expect("timers");
            kinds.push(armed.iter().map(|t| t.kind).collect::<Vec<_>>());
        }
        left.push(kinds);
        let again = store
            .fire_timers(FireTimers {
                timers,
                policy: policy(),
                now: now + SignedDuration::from_secs(1),
            })
            .await
            .expect("fire again");
        assert!(again.iter().all(|f| !f.taken), "fired twice: {again:?}");
    }
    assert_eq!(
        answers[0],
        vec![
            (true, vec![]),
            (true, vec![EventKind::SlaBreached]),
            (true, vec![EventKind::SlaBreached]),
            (false, vec![]),
            (false, vec![]),
        ]
    );
    assert_eq!(answers[0], answers[1], "one command acts as one per timer");
    let resolve = vec![TimerKind::ResolveReminder, TimerKind::ResolveBreach];
    assert_eq!(left[0], vec![resolve.clone(), resolve]);
    assert_eq!(left[0], left[1]);
    let events = store.events_after(0, 1_000).await.expect("log");
    let breaches = events
        .iter()
        .filter(|e| e.kind == EventKind::SlaBreached)
        .count();
    assert_eq!(breaches, 4, "two handoffs, twice");
    assert!(matches!(
        verify_audit(store.as_ref()).await.expect("audit"),
        ChainVerdict::Intact { .. }
    ));
}
