//! The whole path of "nothing silently stalls", against real receivers: an
//! unclaimed critical item is reminded, breaches, and its escalation chain
//! reassigns it and fans it out; every notification goes through the outbox
//! to a real HTTP receiver, signed per Standard Webhooks, retried on the
//! schedule, dead-lettered, redelivered; a 410 disables its channel. The
//! fake clock moves; nothing sleeps.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use baton_core::EventKind;
use baton_server::{Clock, Dispatcher, NotifySettings, Scheduler, SchedulerConfig};
use baton_store::DeliveryState;
use jiff::SignedDuration;
use serde_json::{Value, json};
use standardwebhooks::Webhook;

use crate::helpers::{ADMIN, DECLARED, REVIEWER, TestApp, on_both_backends};
use crate::notify::{Answer, Receiver};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// The test policy plus five webhook channels and a chain for critical items.
fn policy(ops: &str, desk: &str, traders: &str, down: &str, gone: &str) -> String {
    format!(
        r#"{default}{DECLARED}
[[channel]]
name = "ops"
kind = "webhook"
url = "{ops}"
secret_env = "BATON_TEST_WHSEC"
events = ["breach"]

[[channel]]
name = "desk"
kind = "webhook"
url = "{desk}"
secret_env = "BATON_TEST_WHSEC"
events = ["executed"]

[[channel]]
name = "traders"
kind = "webhook"
url = "{traders}"
secret_env = "BATON_TEST_WHSEC"
events = ["executed"]

[[channel]]
name = "down"
kind = "webhook"
url = "{down}"
secret_env = "BATON_TEST_WHSEC"
events = ["reminder"]

[[channel]]
name = "gone"
kind = "webhook"
url = "{gone}"
secret_env = "BATON_TEST_WHSEC"
events = ["breach"]

[[escalation]]
id = "critical-chain"
when = 'impact == "critical"'

[[escalation.level]]
after = "accept_breach"
notify = ["desk"]
reassign = "billing"

[[escalation.level.fanout]]
role = "traders"
channel = "traders"
context = ["payload.amount", "ai_assessment"]
"#,
        default = baton_core::policy::DEFAULT_POLICY,
    )
}

fn dispatcher(app: &TestApp) -> Dispatcher {
    let settings = NotifySettings {
        allow_private_destinations: true,
        secrets: Arc::new(|name| (name == "BATON_TEST_WHSEC").then(|| SECRET.to_owned())),
        timeout: std::time::Duration::from_secs(5),
        ..NotifySettings::default()
    };
    Dispatcher::new(&app.state, settings).unwrap()
}

async fn fire_timers(app: &TestApp) {
    Scheduler::new(&app.state, SchedulerConfig::default())
        .run_due(app.clock.now())
        .await
        .unwrap();
}

/// Dispatches until nothing is pending, moving the clock to each next attempt.
async fn drain(app: &TestApp, dispatcher: &Dispatcher) {
    for _ in 0..40 {
        dispatcher.run_due(app.clock.now()).await.unwrap();
        let pending = app
            .state
            .store
            .list_deliveries(Some(DeliveryState::Pending), 500)
            .await
            .unwrap();
        let Some(next) = pending.iter().map(|d| d.next_at).min() else {
            return;
        };
        let now = app.clock.now();
        if next > now {
            app.advance(next.duration_since(now));
        }
    }
    panic!("deliveries still pending after 40 rounds");
}

on_both_backends!(an_unclaimed_item_escalates_and_every_notification_arrives_once);

async fn an_unclaimed_item_escalates_and_every_notification_arrives_once(app: TestApp) {
    let ok = || vec![Answer::status(200)];
    let ops = Receiver::start([vec![Answer::status(500); 5], ok()].concat()).await;
    let desk = Receiver::start(ok()).await;
    let traders = Receiver::start(ok()).await;
    let down = Receiver::start([vec![Answer::status(503); 8], ok()].concat()).await;
    let gone = Receiver::start(vec![Answer::status(410)]).await;
    app.put_policy(&policy(
        &ops.url,
        &desk.url,
        &traders.url,
        &down.url,
        &gone.url,
    ))
    .await;
    let dispatcher = dispatcher(&app);
    let id = app.create_sample("critical", "fraud").await;

    // 11 min 15 s: the accept reminder, to the `down` channel.
    app.advance(SignedDuration::from_secs(11 * 60 + 15));
    fire_timers(&app).await;
    // 15 min: the breach (to `ops` and `gone`) and level 1 of the chain.
    app.advance(SignedDuration::from_secs(3 * 60 + 45));
    fire_timers(&app).await;
    let handoff = app.get_ok(ADMIN, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(handoff["owner_group"], "billing", "level 1 reassigned it");
    let kinds: Vec<(String, String)> = handoff["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds[1..],
        [
            ("sla_warned".into(), "scheduler".into()),
            ("sla_breached".into(), "scheduler".into()),
            ("escalated".into(), "policy:critical-chain".into()),
        ]
    );
    drain(&app, &dispatcher).await;

    // `ops` failed 5 times, then took it: 6 requests, one webhook-id, each signed.
    let got = ops.requests();
    assert_eq!(got.len(), 6);
    assert_eq!(
        got.iter().filter(|r| r.answered == StatusCode::OK).count(),
        1
    );
    let ids: std::collections::BTreeSet<_> = got
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), 1, "one webhook-id across retries");
    let reference = Webhook::new(SECRET).unwrap();
    for r in &got {
        let id = r.headers["webhook-id"].to_str().unwrap();
        let ts: i64 = r.headers["webhook-timestamp"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let expected = reference.sign(id, ts, &r.body).unwrap();
        assert_eq!(r.headers["webhook-signature"].to_str().unwrap(), expected);
    }
    let body: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["type"], "handoff.sla_breached");
    assert_eq!(body["data"]["handoff"]["id"], id.as_str());

    // The level's own channel, and the traders' role with its share only.
    assert_eq!(desk.requests().len(), 1);
    let fanout: Value = serde_json::from_slice(&traders.requests()[0].body).unwrap();
    assert_eq!(fanout["data"]["role"], "traders");
    assert_eq!(fanout["data"]["context"]["payload"], json!({"amount": 900}));
    assert!(fanout["data"]["context"].get("summary").is_none());

    // `down` never answered well: dead after 8 attempts, listed, redelivered.
    assert_eq!(down.requests().len(), 8);
    let (status, dead) = app
        .request(Method::GET, "/v1/deliveries?state=dead", Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{dead}");
    let dead = dead["items"].as_array().unwrap().clone();
    let channels: Vec<&str> = dead
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels.len(), 2, "{dead:?}");
    assert!(channels.contains(&"down") && channels.contains(&"gone"));
    let down_id = dead.iter().find(|d| d["channel"] == "down").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        dead.iter().find(|d| d["channel"] == "down").unwrap()["attempts"],
        8
    );
    // Only an admin sees the outbox.
    let (status, _) = app
        .request(Method::GET, "/v1/deliveries", Some(REVIEWER), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, again) = app
        .request(
            Method::POST,
            &format!("/v1/deliveries/{down_id}/redeliver"),
            Some(ADMIN),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["state"], "pending");
    drain(&app, &dispatcher).await;
    assert_eq!(down.requests().len(), 9);
    let delivered = app
        .state
        .store
        .get_delivery(down_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.state, DeliveryState::Delivered);

    // 410 disabled `gone` after its one request.
    assert_eq!(gone.requests().len(), 1);
    let disabled = app.state.store.disabled_channels().await.unwrap();
    assert_eq!(
        disabled.iter().map(|d| d.0.as_str()).collect::<Vec<_>>(),
        ["gone"]
    );

    // Nothing more: no timer left for the acceptance part, nothing pending.
    app.advance(SignedDuration::from_hours(1));
    fire_timers(&app).await;
    let events = app.state.store.events_after(0, 1000).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::Escalated)
            .count(),
        1
    );
}

on_both_backends!(a_claim_before_the_breach_means_no_escalation_and_no_page);

/// The on-call failure modes: no notification after the acknowledgement, and
/// an acknowledgement racing the escalation step never sees both.
async fn a_claim_before_the_breach_means_no_escalation_and_no_page(app: TestApp) {
    let ok = || vec![Answer::status(200)];
    let receivers = [
        Receiver::start(ok()).await,
        Receiver::start(ok()).await,
        Receiver::start(ok()).await,
        Receiver::start(ok()).await,
        Receiver::start(ok()).await,
    ];
    let urls: Vec<&str> = receivers.iter().map(|r| r.url.as_str()).collect();
    app.put_policy(&policy(urls[0], urls[1], urls[2], urls[3], urls[4]))
        .await;
    let id = app.create_sample("critical", "fraud").await;
    app.advance(SignedDuration::from_mins(14));
    app.act_ok(ADMIN, &id, "claim", json!({})).await;
    app.advance(SignedDuration::from_hours(2));
    fire_timers(&app).await;
    drain(&app, &dispatcher(&app)).await;
    let events = app.state.store.events_after(0, 1000).await.unwrap();
    assert!(!events.iter().any(|e| e.kind == EventKind::Escalated));
    for (name, receiver) in ["ops", "desk", "traders", "gone"].iter().zip([
        &receivers[0],
        &receivers[1],
        &receivers[2],
        &receivers[4],
    ]) {
        assert!(
            receiver.requests().is_empty(),
            "{name} was paged after the claim"
        );
    }
    // Racing: a claim and the due level fire together on another item; the
    // log never shows an escalation after the claim.
    let id = app.create_sample("critical", "fraud").await;
    app.advance(SignedDuration::from_mins(15));
    let claim = app.act(ADMIN, &id, "claim", json!({}));
    let fire = fire_timers(&app);
    let ((status, _), ()) = tokio::join!(claim, fire);
    let stream: Vec<EventKind> = app
        .state
        .store
        .handoff_events(id.parse().unwrap())
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    let claimed = stream.iter().position(|k| *k == EventKind::Claimed);
    let escalated = stream.iter().position(|k| *k == EventKind::Escalated);
    match (status, claimed, escalated) {
        (StatusCode::OK, Some(c), Some(e)) => {
            assert!(e < c, "escalated after the claim: {stream:?}")
        }
        (StatusCode::OK, Some(_), None) => {}
        other => panic!("unexpected race outcome {other:?}: {stream:?}"),
    }
}
