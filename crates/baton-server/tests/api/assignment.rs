//! Automatic assignment: reviewers set their availability, the assigner
//! offers pending items by round robin or least load within each reviewer's
//! capacity, a full group waits for a slot, and an offer not claimed within
//! the impact's `accept_within` expires and goes to another reviewer.

use axum::http::{Method, StatusCode};
use baton_core::Role;
use baton_server::{AssignReport, Assigner, Clock, Scheduler, SchedulerConfig};
use baton_store::TokenRecord;
use jiff::SignedDuration;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{ADMIN, AGENT, TestApp, assert_error, id_of, new_handoff, on_both_backends};

const ANA: &str = "baton_test_ana";
const BO: &str = "baton_test_bo";
const CY: &str = "baton_test_cy";

fn policy(strategy: &str) -> String {
    format!(
        r#"{default}
[[group]]
name = "billing"
assignment = "{strategy}"
capacity = 1

[[workflow]]
name = "support-chat"
default_group = "triage"

[[workflow]]
name = "email"
default_group = "triage"
"#,
        default = baton_core::policy::DEFAULT_POLICY,
    )
}

/// Three reviewers of `billing`; ana and bo available, cy not.
async fn setup(app: &TestApp, strategy: &str) {
    app.put_policy(&policy(strategy)).await;
    for (name, secret) in [("ana", ANA), ("bo", BO), ("cy", CY)] {
        let record = TokenRecord {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            role: Role::Reviewer,
            groups: vec!["billing".into()],
            workflows: Vec::new(),
            hash: baton_server::token::hash(secret),
            created_at: app.clock.now(),
            revoked_at: None,
        };
        app.state.store.insert_token(&record).await.unwrap();
    }
    for (secret, available) in [(ANA, true), (BO, true), (CY, false)] {
        let (status, json) = app
            .request(
                Method::PUT,
                "/v1/me/availability",
                Some(secret),
                Some(json!({ "available": available })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["available"], available);
    }
    let me = app.get_ok(ANA, "/v1/me/availability").await;
    assert_eq!(me, json!({"reviewer": "ana", "available": true}));
}

async fn create(app: &TestApp) -> String {
    let mut body = new_handoff("high", "low_confidence");
    body["owner_group"] = "billing".into();
    let id = id_of(&app.create(ADMIN, body).await);
    app.advance(SignedDuration::from_secs(1));
    id
}

async fn assign(app: &TestApp) -> AssignReport {
    Assigner::new(&app.state)
        .run_due(app.clock.now())
        .await
        .unwrap()
}

async fn detail(app: &TestApp, id: &str) -> Value {
    app.get_ok(ADMIN, &format!("/v1/handoffs/{id}")).await
}

fn kinds(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn claim_and_resolve(app: &TestApp, secret: &str, id: &str) {
    let claimed = app.act_ok(secret, id, "claim", json!({})).await;
    let token = claimed["claim_token"].as_str().unwrap().to_owned();
    app.act_ok(
        secret,
        id,
        "resolve",
        json!({"claim_token": token, "resolution": "approved", "resolution_reason": "policy_ok"}),
    )
    .await;
}

on_both_backends!(
    round_robin_within_capacity_waits_for_a_slot_and_reassigns_expired_offers,
    least_loaded_picks_the_least_loaded,
    only_workers_set_availability,
);

async fn round_robin_within_capacity_waits_for_a_slot_and_reassigns_expired_offers(app: TestApp) {
    setup(&app, "round_robin").await;
    let h1 = create(&app).await;
    let h2 = create(&app).await;
    let h3 = create(&app).await;
    let report = assign(&app).await;
    assert_eq!(
        report,
        AssignReport {
            assigned: 2,
            waiting: 1
        }
    );
    let d1 = detail(&app, &h1).await;
    assert_eq!(d1["assignee"], "ana");
    assert_eq!(d1["state"], "pending");
    assert_eq!(kinds(&d1), ["created", "assigned"]);
    assert_eq!(detail(&app, &h2).await["assignee"], "bo");
    // Capacity 1 each; cy is not available: the third waits.
    assert_eq!(detail(&app, &h3).await["assignee"], Value::Null);
    assert_eq!(
        assign(&app).await,
        AssignReport {
            assigned: 0,
            waiting: 1
        }
    );

    // bo finishes h2: the slot frees, h3 goes to bo on the next run.
    claim_and_resolve(&app, BO, &h2).await;
    assert_eq!(
        assign(&app).await,
        AssignReport {
            assigned: 1,
            waiting: 0
        }
    );
    assert_eq!(detail(&app, &h3).await["assignee"], "bo");
    claim_and_resolve(&app, BO, &h3).await;

    // ana leaves h1 unclaimed past `high`'s accept_within (1 h).
    app.advance(SignedDuration::from_mins(61));
    Scheduler::new(&app.state, SchedulerConfig::default())
        .run_due(app.clock.now())
        .await
        .unwrap();
    let d1 = detail(&app, &h1).await;
    assert_eq!(d1["assignee"], Value::Null, "{d1}");
    let expired = d1["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "assignment_expired")
        .expect("an assignment_expired event")
        .clone();
    assert_eq!(expired["actor"], "scheduler");
    assert_eq!(expired["data"]["assignee"], "ana");
    // Back in the queue, it goes to the other reviewer.
    assert_eq!(
        assign(&app).await,
        AssignReport {
            assigned: 1,
            waiting: 0
        }
    );
    assert_eq!(detail(&app, &h1).await["assignee"], "bo");
    // The summary counts the expiry.
    let summary = app.get_ok(ADMIN, "/v1/reports/summary").await;
    assert_eq!(summary["total"]["assignments_expired"], 1, "{summary}");
    // cy, unavailable, never got anything.
    let cy = app.get_ok(ADMIN, "/v1/handoffs?assignee=cy").await;
    assert_eq!(cy["items"].as_array().unwrap().len(), 0, "{cy}");
}

async fn least_loaded_picks_the_least_loaded(app: TestApp) {
    setup(&app, "least_loaded").await;
    let a = create(&app).await;
    assert_eq!(assign(&app).await.assigned, 1);
    let b = create(&app).await;
    assert_eq!(assign(&app).await.assigned, 1);
    assert_eq!(detail(&app, &a).await["assignee"], "ana");
    assert_eq!(detail(&app, &b).await["assignee"], "bo");
    // bo is done, ana still holds a: c goes to bo, the least loaded, though
    // ana's turn is older.
    claim_and_resolve(&app, BO, &b).await;
    let c = create(&app).await;
    assert_eq!(
        assign(&app).await,
        AssignReport {
            assigned: 1,
            waiting: 0
        }
    );
    assert_eq!(detail(&app, &c).await["assignee"], "bo");
}

async fn only_workers_set_availability(app: TestApp) {
    let (status, json) = app
        .request(
            Method::PUT,
            "/v1/me/availability",
            Some(AGENT),
            Some(json!({"available": true})),
        )
        .await;
    assert_error(status, &json, StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = app
        .request(
            Method::PUT,
            "/v1/me/availability",
            Some(ADMIN),
            Some(json!({"available": "yes"})),
        )
        .await;
    assert!(status.is_client_error());
}
