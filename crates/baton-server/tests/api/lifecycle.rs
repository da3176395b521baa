//! A handoff's whole life over HTTP, on SQLite and (when configured) PostgreSQL:
//! create, claim, ask and get information, notes, resolve with a receipt,
//! execution, close, reopen; claim tokens and illegal transitions.

use axum::http::StatusCode;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, AGENT, LEAD, REVIEWER, TestApp, assert_error, id_of, new_handoff, on_both_backends,
    start,
};

on_both_backends!(
    a_handoff_goes_from_created_to_closed_and_back,
    queue_age_grows_with_the_clock,
    resolve_needs_the_current_claim_token,
    illegal_transitions_are_refused_and_change_nothing,
);

async fn a_handoff_goes_from_created_to_closed_and_back(app: TestApp) {
    let created = app
        .create(AGENT, new_handoff("high", "policy_exception"))
        .await;
    let id = id_of(&created);
    assert_eq!(created["state"], "pending");
    assert_eq!(created["ai_state"], "proposed");
    assert_eq!(created["owner_group"], "triage");
    assert_eq!(created["workflow"], "support-chat");
    assert_eq!(created["created_by"], "agent");
    assert_eq!(created["assignee"], Value::Null);
    assert_eq!(created["queue_age_seconds"], 0);
    assert_eq!(created["context"]["ai_assessment"]["confidence"], 0.61);

    let got = app.get_ok(LEAD, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(got["id"], created["id"]);
    assert_eq!(got["title"], "refund above the automatic limit");
    assert_eq!(got["events"][0]["kind"], "created");

    let claimed = app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let claim = claimed["claim_token"]
        .as_str()
        .expect("a claim answers a claim token")
        .to_owned();
    assert!(!claim.is_empty());
    assert_eq!(claimed["handoff"]["state"], "in_progress");
    assert_eq!(claimed["handoff"]["assignee"], "reviewer");
    assert_eq!(claimed["event"]["kind"], "claimed");
    assert_eq!(claimed["event"]["seq"], 2);
    assert_eq!(claimed["event"]["actor"], "reviewer");

    let asked = app
        .act_ok(
            REVIEWER,
            &id,
            "request-info",
            json!({"claim_token": claim, "question": "which order?"}),
        )
        .await;
    assert_eq!(asked["handoff"]["state"], "waiting");
    assert_eq!(asked["event"]["kind"], "info_requested");
    assert_eq!(asked["event"]["data"]["question"], "which order?");
    assert!(asked.get("claim_token").is_none(), "{asked}");

    let answered = app
        .act_ok(AGENT, &id, "provide-info", json!({"info": "order 1234"}))
        .await;
    assert_eq!(answered["handoff"]["state"], "in_progress");
    assert_eq!(answered["handoff"]["assignee"], "reviewer");
    assert_eq!(answered["event"]["kind"], "info_received");

    let internal = app
        .act_ok(
            REVIEWER,
            &id,
            "notes",
            json!({"text": "checked the ledger"}),
        )
        .await;
    assert_eq!(internal["event"]["data"]["visibility"], "internal");
    assert_eq!(internal["handoff"]["customer_note"], Value::Null);
    let public = app
        .act_ok(
            REVIEWER,
            &id,
            "notes",
            json!({"text": "we are on it", "visibility": "customer"}),
        )
        .await;
    assert_eq!(public["event"]["kind"], "note_added");
    assert_eq!(public["handoff"]["customer_note"], "we are on it");

    let resolved = app
        .act_ok(
            REVIEWER,
            &id,
            "resolve",
            json!({
                "claim_token": claim,
                "resolution": "corrected",
                "resolution_reason": "partial_refund",
                "changes": {"amount": 450},
                "customer_note": "we refunded half",
                "internal_note": "goodwill"
            }),
        )
        .await;
    let h = &resolved["handoff"];
    assert_eq!(h["state"], "resolved");
    assert_eq!(h["ai_state"], "corrected");
    assert_eq!(h["customer_note"], "we refunded half");
    assert_eq!(h["resolved_at"], json!(start()));
    let receipt = &h["receipt"];
    assert_eq!(receipt["decided_by"], "reviewer");
    assert_eq!(receipt["resolution"], "corrected");
    assert_eq!(receipt["resolution_reason"], "partial_refund");
    assert_eq!(receipt["changes"], json!({"amount": 450}));
    assert_eq!(receipt["customer_note"], "we refunded half");
    assert_eq!(receipt["internal_note"], "goodwill");
    assert_eq!(resolved["event"]["kind"], "resolved");
    assert_eq!(resolved["event"]["data"]["decided_by"], "reviewer");

    let executed = app
        .act_ok(AGENT, &id, "execution", json!({"outcome": "executed"}))
        .await;
    assert_eq!(executed["handoff"]["ai_state"], "executed");
    assert_eq!(executed["handoff"]["state"], "resolved");
    assert_eq!(executed["event"]["data"]["reopened"], false);

    let closed = app.act_ok(REVIEWER, &id, "close", json!({})).await;
    assert_eq!(closed["handoff"]["state"], "closed");
    assert_eq!(closed["handoff"]["closed_at"], json!(start()));

    let reopened = app
        .act_ok(LEAD, &id, "reopen", json!({"reason": "customer disputes"}))
        .await;
    let h = &reopened["handoff"];
    assert_eq!(h["state"], "pending");
    assert_eq!(h["reopen_count"], 1);
    assert_eq!(h["assignee"], Value::Null);
    assert_eq!(h["receipt"], Value::Null);
    assert_eq!(h["closed_at"], Value::Null);

    // The handoff's events, seq 1..n in order, each in the global log.
    let detail = app.get_ok(ADMIN, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(detail["state"], "pending");
    let events = detail["events"].as_array().expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "claimed",
            "info_requested",
            "info_received",
            "note_added",
            "note_added",
            "resolved",
            "execution_reported",
            "closed",
            "reopened"
        ]
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], i as i64 + 1, "{event}");
        assert_eq!(event["handoff_id"], id.as_str());
        assert_eq!(event["position"], i as i64 + 1, "{event}");
        if i > 0 {
            assert_eq!(event["prev_hash"], events[i - 1]["hash"], "chained");
        }
    }
    assert_eq!(events[0]["actor"], "agent");
    assert_eq!(events[9]["actor"], "lead");
    assert_eq!(events[9]["data"]["reason"], "customer disputes");
}

async fn queue_age_grows_with_the_clock(app: TestApp) {
    let id = app.create_sample("low", "missing_data").await;
    let path = format!("/v1/handoffs/{id}");
    assert_eq!(app.get_ok(LEAD, &path).await["queue_age_seconds"], 0);
    app.advance(SignedDuration::from_secs(90));
    assert_eq!(app.get_ok(LEAD, &path).await["queue_age_seconds"], 90);
    app.advance(SignedDuration::from_hours(2));
    let got = app.get_ok(LEAD, &path).await;
    assert_eq!(got["queue_age_seconds"], 90 + 7_200);
    assert_eq!(got["created_at"], json!(start()));
    let listed = app.get_ok(LEAD, "/v1/handoffs").await;
    assert_eq!(listed["items"][0]["queue_age_seconds"], 90 + 7_200);
    // Actions happen at the clock's time.
    let claimed = app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let later = start()
        .checked_add(SignedDuration::from_secs(90 + 7_200))
        .unwrap();
    assert_eq!(claimed["handoff"]["claimed_at"], json!(later));
    assert_eq!(claimed["event"]["at"], json!(later));
}

async fn resolve_needs_the_current_claim_token(app: TestApp) {
    let id = app.create_sample("high", "low_confidence").await;
    let receipt = |token: Option<&str>| {
        let mut body = json!({"resolution": "approved", "resolution_reason": "policy_ok"});
        if let Some(token) = token {
            body["claim_token"] = token.into();
        }
        body
    };
    let first = app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let stale = first["claim_token"].as_str().unwrap().to_owned();
    app.act_ok(REVIEWER, &id, "release", json!({"claim_token": stale}))
        .await;
    let second = app.act_ok(LEAD, &id, "claim", json!({})).await;
    let current = second["claim_token"].as_str().unwrap().to_owned();
    assert_ne!(stale, current, "every claim gets a new token");

    for body in [receipt(None), receipt(Some(&stale)), receipt(Some("junk"))] {
        let (status, json) = app.act(LEAD, &id, "resolve", body).await;
        let error = assert_error(status, &json, StatusCode::CONFLICT, "claim_mismatch");
        assert_eq!(error["field"], "claim_token");
    }
    // Release and request-info are guarded the same way.
    let (status, json) = app
        .act(LEAD, &id, "release", json!({"claim_token": stale}))
        .await;
    assert_error(status, &json, StatusCode::CONFLICT, "claim_mismatch");
    let (status, json) = app
        .act(LEAD, &id, "request-info", json!({"question": "?"}))
        .await;
    assert_error(status, &json, StatusCode::CONFLICT, "claim_mismatch");

    let detail = app.get_ok(LEAD, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(detail["state"], "in_progress");
    assert_eq!(detail["assignee"], "lead");
    assert_eq!(detail["events"].as_array().unwrap().len(), 4);

    let resolved = app
        .act_ok(LEAD, &id, "resolve", receipt(Some(&current)))
        .await;
    assert_eq!(resolved["handoff"]["receipt"]["decided_by"], "lead");
    assert_eq!(resolved["handoff"]["ai_state"], "approved");
    // The token died with the claim.
    let (status, json) = app
        .act(LEAD, &id, "release", json!({"claim_token": current}))
        .await;
    assert_error(status, &json, StatusCode::CONFLICT, "illegal_transition");
}

async fn illegal_transitions_are_refused_and_change_nothing(app: TestApp) {
    let id = app.create_sample("normal", "missing_data").await;
    let cases = [
        ("close", json!({}), "close"),
        ("reopen", json!({"reason": "x"}), "reopen"),
        ("provide-info", json!({"info": "x"}), "provide-info"),
        ("release", json!({}), "release"),
        (
            "resolve",
            json!({"resolution": "approved", "resolution_reason": "ok"}),
            "resolve",
        ),
    ];
    for (action, body, verb) in cases {
        let (status, json) = app.act(ADMIN, &id, action, body).await;
        let error = assert_error(status, &json, StatusCode::CONFLICT, "illegal_transition");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains("pending"), "{action}: {message}");
        assert!(message.contains(verb), "{action}: {message}");
    }
    assert_eq!(
        app.act(ADMIN, &id, "close", json!({})).await.1["error"]["message"],
        "cannot close a handoff that is pending"
    );
    // The AI output has to be approved or corrected before execution is reported.
    let (status, json) = app
        .act(AGENT, &id, "execution", json!({"outcome": "executed"}))
        .await;
    let error = assert_error(status, &json, StatusCode::CONFLICT, "illegal_transition");
    assert!(
        error["message"].as_str().unwrap().contains("proposed"),
        "{json}"
    );
    // A claimed item cannot be claimed again.
    app.act_ok(REVIEWER, &id, "claim", json!({})).await;
    let (status, json) = app.act(LEAD, &id, "claim", json!({})).await;
    let error = assert_error(status, &json, StatusCode::CONFLICT, "illegal_transition");
    assert_eq!(
        error["message"],
        "cannot claim a handoff that is in_progress"
    );

    let detail = app.get_ok(LEAD, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(detail["state"], "in_progress");
    assert_eq!(detail["assignee"], "reviewer");
    assert_eq!(detail["events"].as_array().unwrap().len(), 2);
    // Refusals append nothing to the log.
    let feed = app.get_ok(LEAD, "/v1/events?after=0").await;
    assert_eq!(feed["events"].as_array().unwrap().len(), 2, "{feed}");
    assert_eq!(feed["next_after"], 2);
}
