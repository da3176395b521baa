//! `Idempotency-Key` on create: replays answer the same handoff, a reused key
//! with another body is refused, and concurrent duplicates make one item.

use std::collections::HashSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use tower::ServiceExt;

use crate::helpers::{
    ADMIN, AGENT, LEAD, TestApp, assert_error, id_of, new_handoff, on_both_backends,
};

on_both_backends!(
    a_replayed_key_answers_the_same_handoff,
    a_reused_key_with_another_body_is_refused,
    concurrent_duplicates_create_one_handoff,
);

async fn create_with_key(
    app: &TestApp,
    token: &str,
    key: &str,
    impact: &str,
) -> crate::helpers::Reply {
    app.call(
        Method::POST,
        "/v1/handoffs",
        Some(token),
        Some(new_handoff(impact, "low_confidence")),
        &[("idempotency-key", key)],
    )
    .await
}

async fn a_replayed_key_answers_the_same_handoff(app: TestApp) {
    let first = create_with_key(&app, AGENT, "order-1234", "high").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.json);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let id = id_of(&first.json);

    let again = create_with_key(&app, AGENT, "order-1234", "high").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.json);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(id_of(&again.json), id);
    assert_eq!(again.json["created_at"], first.json["created_at"]);

    // Keys are scoped per token: the same key from another token is a new item.
    let other = create_with_key(&app, ADMIN, "order-1234", "high").await;
    assert_eq!(other.status, StatusCode::CREATED, "{}", other.json);
    assert_ne!(id_of(&other.json), id);

    // A new key is a new item; no key is always a new item.
    let fresh = create_with_key(&app, AGENT, "order-5678", "high").await;
    assert_eq!(fresh.status, StatusCode::CREATED);
    let plain = app
        .create(AGENT, new_handoff("high", "low_confidence"))
        .await;
    assert_ne!(id_of(&plain), id);

    let listed = app.get_ok(LEAD, "/v1/handoffs").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 4, "{listed}");
    let feed = app.get_ok(LEAD, "/v1/events?after=0").await;
    let created = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["handoff_id"] == id.as_str())
        .count();
    assert_eq!(created, 1, "a replay appends no event");
}

async fn a_reused_key_with_another_body_is_refused(app: TestApp) {
    let first = create_with_key(&app, AGENT, "k-1", "high").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other = create_with_key(&app, AGENT, "k-1", "low").await;
    let error = assert_error(
        other.status,
        &other.json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_mismatch",
    );
    assert_eq!(error["field"], "Idempotency-Key");

    // Keys must be 1 to 255 visible characters.
    for key in [String::new(), "x".repeat(256)] {
        let reply = create_with_key(&app, AGENT, &key, "high").await;
        let error = assert_error(
            reply.status,
            &reply.json,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
        assert_eq!(error["field"], "Idempotency-Key");
    }
    let ok = create_with_key(&app, AGENT, &"x".repeat(255), "high").await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.json);

    let listed = app.get_ok(LEAD, "/v1/handoffs").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}

async fn concurrent_duplicates_create_one_handoff(app: TestApp) {
    let body = new_handoff("high", "fraud").to_string();
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let router = app.router.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let req = Request::post("/v1/handoffs")
                .header("authorization", format!("Bearer {AGENT}"))
                .header("content-type", "application/json")
                .header("idempotency-key", "same-every-time")
                .body(Body::from(body))
                .unwrap();
            let response = router.oneshot(req).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (status, json)
        }));
    }
    let mut ids = HashSet::new();
    let mut created = 0;
    for task in tasks {
        let (status, json) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}: {json}"),
        }
        ids.insert(id_of(&json));
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(created, 1);
    let id = ids.into_iter().next().unwrap();
    let listed = app.get_ok(LEAD, "/v1/handoffs").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let feed = app.get_ok(LEAD, "/v1/events?after=0").await;
    let events = feed["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "one created event: {feed}");
    assert_eq!(events[0]["handoff_id"], id.as_str());
    assert_eq!(events[0]["kind"], "created");
}
