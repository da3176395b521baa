//! Nothing silently stalls: live SLA clocks arm durable timers, the
//! scheduler fires them exactly once (`run_due(now)` on the fake clock, no
//! sleeps), after a restart late by the downtime, and across instances.

use std::sync::Arc;

use baton_core::timers::TimerKind;
use baton_core::{Event, EventKind};
use baton_server::{RunReport, Scheduler, SchedulerConfig};
use baton_store::Store;
use baton_store_postgres::PgStore;
use baton_store_sqlite::SqliteStore;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    AGENT, REVIEWER, TestApp, app_over, id_of, new_handoff, on_both_backends, pg_database, start,
};

fn scheduler(app: &TestApp) -> Scheduler {
    Scheduler::new(&app.state, SchedulerConfig::default())
}

async fn run(app: &TestApp) -> RunReport {
    scheduler(app)
        .run_due(baton_server::Clock::now(&app.clock))
        .await
        .expect("run due timers")
}

async fn sla_events(store: &dyn Store) -> Vec<Event> {
    store
        .events_after(0, 100_000)
        .await
        .expect("read the log")
        .into_iter()
        .filter(|e| matches!(e.kind, EventKind::SlaWarned | EventKind::SlaBreached))
        .collect()
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

on_both_backends!(
    an_unclaimed_item_is_reminded_then_breached_once,
    a_claim_cancels_the_accept_timers,
    waiting_moves_the_resolve_deadline,
    a_promised_customer_update_that_passes_is_recorded_once,
);

/// A customer-safe note promising an update at 10:00 arms its own timer;
/// passed with no new customer note, it records `update_due` once.
async fn a_promised_customer_update_that_passes_is_recorded_once(app: TestApp) {
    let id = app.create_sample("normal", "fraud").await;
    app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let noted = app
        .act_ok(
            REVIEWER,
            &id,
            "notes",
            json!({"text": "We will update you by 10:00.", "visibility": "customer",
                   "next_update_at": "2026-01-05T10:00:00Z"}),
        )
        .await;
    assert_eq!(noted["handoff"]["next_update_at"], "2026-01-05T10:00:00Z");
    let (status, refused) = app
        .act(
            REVIEWER,
            &id,
            "notes",
            json!({"text": "internal", "next_update_at": "2026-01-05T11:00:00Z"}),
        )
        .await;
    assert_eq!(
        status,
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "{refused}"
    );
    assert_eq!(refused["error"]["field"], "next_update_at");
    app.advance(mins(61));
    assert_eq!(run(&app).await.fired, 1);
    assert_eq!(run(&app).await.claimed, 0);
    let events = app
        .state
        .store
        .handoff_events(id.parse().unwrap())
        .await
        .unwrap();
    let due: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::UpdateDue)
        .collect();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].data["promised_at"], "2026-01-05T10:00:00Z");
    assert_eq!(due[0].data["late_by_ms"], 60_000);
}

/// `critical`: accept within 15 min, reminder at 75 % (11 min 15 s).
async fn an_unclaimed_item_is_reminded_then_breached_once(app: TestApp) {
    let id = app.create_sample("critical", "fraud").await;
    let handoff = app.get_ok(REVIEWER, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(handoff["accept_by"], "2026-01-05T09:15:00Z");
    let uuid: Uuid = id.parse().unwrap();
    let kinds: Vec<TimerKind> = app
        .state
        .store
        .handoff_timers(uuid)
        .await
        .unwrap()
        .iter()
        .map(|t| t.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            TimerKind::AcceptReminder,
            TimerKind::AcceptBreach,
            TimerKind::ResolveReminder,
            TimerKind::ResolveBreach
        ]
    );
    app.advance(mins(11));
    assert_eq!(
        run(&app).await.claimed,
        0,
        "nothing is due before the reminder point"
    );
    app.advance(SignedDuration::from_secs(15));
    let report = run(&app).await;
    assert_eq!((report.fired, report.max_late), (1, SignedDuration::ZERO));
    assert_eq!(
        run(&app).await,
        RunReport::default(),
        "a reminder fires once"
    );
    app.advance(SignedDuration::from_secs(3 * 60 + 47));
    let report = run(&app).await;
    assert_eq!(report.fired, 1);
    let events = sla_events(app.state.store.as_ref()).await;
    let kinds: Vec<_> = events
        .iter()
        .map(|e| (e.kind, e.data["clock"].clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::SlaWarned, json!("accept")),
            (EventKind::SlaBreached, json!("accept"))
        ]
    );
    let breach = &events[1];
    assert_eq!(breach.actor, "scheduler");
    assert_eq!(breach.data["late_by_ms"], 2_000);
    assert_eq!(breach.data["rule"], "impact:critical");
    assert_eq!(breach.data["due_at"], "2026-01-05T09:15:00Z");
    // The handoff's own stream holds them, chained like every event.
    let verdict = baton_store::verify_audit(app.state.store.as_ref())
        .await
        .unwrap();
    assert!(
        matches!(verdict, baton_core::ChainVerdict::Intact { .. }),
        "{verdict:?}"
    );
    app.advance(mins(60));
    assert_eq!(run(&app).await.fired, 0, "no accept timer is left");
}

async fn a_claim_cancels_the_accept_timers(app: TestApp) {
    let id = app.create_sample("critical", "fraud").await;
    app.advance(mins(5));
    app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let uuid: Uuid = id.parse().unwrap();
    let kinds: Vec<TimerKind> = app
        .state
        .store
        .handoff_timers(uuid)
        .await
        .unwrap()
        .iter()
        .map(|t| t.kind)
        .collect();
    assert_eq!(
        kinds,
        [TimerKind::ResolveReminder, TimerKind::ResolveBreach]
    );
    app.advance(mins(30));
    assert_eq!(run(&app).await.claimed, 0);
    assert!(sla_events(app.state.store.as_ref()).await.is_empty());
}

/// The default `critical` impact pauses while waiting: two hours waiting
/// move the 4 h resolve deadline by two hours.
async fn waiting_moves_the_resolve_deadline(app: TestApp) {
    let id = app.create_sample("critical", "fraud").await;
    let claimed = app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let token = claimed["claim_token"].as_str().unwrap().to_owned();
    assert_eq!(claimed["handoff"]["resolve_by"], "2026-01-05T13:00:00Z");
    app.advance(mins(60));
    let asked = app
        .act_ok(
            REVIEWER,
            &id,
            "request-info",
            json!({"question": "which card?", "claim_token": token}),
        )
        .await;
    assert_eq!(
        asked["handoff"]["resolve_by"],
        Value::Null,
        "no deadline while paused"
    );
    let uuid: Uuid = id.parse().unwrap();
    assert!(
        app.state
            .store
            .handoff_timers(uuid)
            .await
            .unwrap()
            .is_empty()
    );
    app.advance(mins(120));
    assert_eq!(run(&app).await.claimed, 0);
    let answered = app
        .act_ok(REVIEWER, &id, "provide-info", json!({"info": "the visa"}))
        .await;
    assert_eq!(answered["handoff"]["resolve_by"], "2026-01-05T15:00:00Z");
}

/// Creates `n` `critical` handoffs straight through the store, all at the
/// fake clock's start: each arms an accept reminder due 11 min 15 s later.
async fn create_many(app: &TestApp, n: usize) {
    let policy = app.state.policy.current().policy.clone();
    let creates = (0..n).map(|_| {
        let new = serde_json::from_value(new_handoff("critical", "fraud")).unwrap();
        let admitted =
            baton_core::react::admit(new, Uuid::now_v7(), "agent", &policy, start()).unwrap();
        app.state.store.create_handoff(baton_store::CreateHandoff {
            handoff: admitted.handoff,
            timers: admitted.timers,
            notifications: admitted.notifications,
            idempotency: None,
        })
    });
    for created in futures::future::join_all(creates).await {
        created.expect("create");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_due_while_sqlite_serve_was_down_fire_once_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baton.db");
    let open = || async {
        Arc::new(SqliteStore::open(path.to_str().unwrap()).await.unwrap()) as Arc<dyn Store>
    };
    let before = app_over(open().await, None).await;
    let id = id_of(&before.create(AGENT, new_handoff("critical", "fraud")).await);
    drop(before);
    // Down for an hour: the reminder (09:11:15) and the breach (09:15) fell due.
    let after = app_over(open().await, None).await;
    after.advance(mins(60));
    let report = run(&after).await;
    assert_eq!(
        report.fired, 1,
        "the breach fires; the reminder past it gives way: {report:?}"
    );
    assert_eq!(report.stale, 1);
    let events = sla_events(after.state.store.as_ref()).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].handoff_id.to_string(), id);
    assert_eq!(events[0].data["late_by_ms"], 45 * 60 * 1000);
    let again = app_over(open().await, None).await;
    again.advance(mins(61));
    assert_eq!(
        run(&again).await.claimed,
        0,
        "fired once, whatever restarts"
    );
}

/// A PostgreSQL instance that claimed due timers and died before firing
/// them holds them for its lease (5 s); then the restarted one fires them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timers_claimed_by_an_instance_that_died_fire_once_its_lease_ends() {
    let Some(url) = pg_database().await else {
        eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
        return;
    };
    let open = || async { Arc::new(PgStore::open(&url).await.unwrap()) as Arc<dyn Store> };
    let first = app_over(open().await, None).await;
    create_many(&first, 3).await;
    let due = start() + mins(12);
    let lease = due + SignedDuration::from_secs(5);
    let claimed = first
        .state
        .store
        .claim_due_timers(due, lease, 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    drop(first); // died holding the lease, without firing
    let restarted = app_over(open().await, None).await;
    let fire = |at: Timestamp| {
        let scheduler = scheduler(&restarted);
        async move { scheduler.run_due(at).await.unwrap() }
    };
    assert_eq!(
        fire(due + SignedDuration::from_secs(4)).await.claimed,
        0,
        "leased by the dead instance"
    );
    let report = fire(lease).await;
    assert_eq!(report.fired, 3);
    assert_eq!(report.max_late, SignedDuration::from_secs(45 + 5));
    assert_eq!(sla_events(restarted.state.store.as_ref()).await.len(), 3);
}

/// Three instances on one PostgreSQL database, 1,000 reminders due in the
/// same instant, every instance's scheduler running at once: each fires
/// exactly once in total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_fire_a_thousand_due_timers_exactly_once() {
    let Some(url) = pg_database().await else {
        eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set");
        return;
    };
    let mut apps = Vec::new();
    for _ in 0..3 {
        apps.push(app_over(Arc::new(PgStore::open(&url).await.unwrap()), None).await);
    }
    create_many(&apps[0], 1_000).await;
    assert_eq!(apps[1].state.store.count_timers().await.unwrap(), 4_000);
    let now = start() + mins(12);
    let small = SchedulerConfig {
        batch: 150,
        ..SchedulerConfig::default()
    };
    let runs = apps.iter().map(|app| {
        let scheduler = Scheduler::new(&app.state, small);
        async move { scheduler.run_due(now).await.unwrap() }
    });
    let reports = futures::future::join_all(runs).await;
    let fired: usize = reports.iter().map(|r| r.fired).sum();
    assert_eq!(fired, 1_000, "{reports:?}");
    assert!(reports.iter().all(|r| r.failed == 0), "{reports:?}");
    let events = sla_events(apps[2].state.store.as_ref()).await;
    assert_eq!(events.len(), 1_000);
    let mut handoffs: Vec<Uuid> = events.iter().map(|e| e.handoff_id).collect();
    handoffs.sort();
    handoffs.dedup();
    assert_eq!(handoffs.len(), 1_000, "one reminder per handoff");
    assert!(events.iter().all(|e| e.kind == EventKind::SlaWarned));
    assert_eq!(apps[0].state.store.count_timers().await.unwrap(), 3_000);
}
