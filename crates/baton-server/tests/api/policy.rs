//! The policy over HTTP: creation is checked, routed and timed by the active
//! policy; `PUT /v1/policy` reloads only clean policies; `POST /v1/evaluate`
//! decides, keeps streaks and creates idempotently per conversation and turn.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, AGENT, LEAD, TestApp, assert_error, new_handoff, spawn_app};

const INVOICES: &str = include_str!("../../../../examples/policies/invoice-exceptions.toml");
const CHAT: &str = include_str!("../../../../examples/policies/support-chat.toml");

async fn load(app: &TestApp, text: &str) -> String {
    app.put_policy(text).await["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn invoice(payload: Value) -> Value {
    json!({
        "workflow": "invoice-exception", "title": "price variance", "impact": "normal",
        "reason": "price_variance", "subject": {"source": "sap", "ref": "INV-7"},
        "context": {"payload": payload},
    })
}

#[tokio::test]
async fn undeclared_reasons_and_impacts_are_refused_with_the_valid_codes() {
    let app = spawn_app().await;
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/handoffs",
            Some(AGENT),
            Some(new_handoff("high", "vibes")),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "reason");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("low_confidence"),
        "{json}"
    );
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/handoffs",
            Some(AGENT),
            Some(new_handoff("urgentish", "fraud")),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "impact");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("critical, high, normal, low"),
        "{json}"
    );
}

#[tokio::test]
async fn the_default_policy_routes_and_times_every_handoff() {
    let app = spawn_app().await;
    let created = app.create(AGENT, new_handoff("critical", "fraud")).await;
    assert_eq!(created["owner_group"], "triage");
    // A declared workflow routes to its default group under the default route.
    assert_eq!(created["route_rule"], "default (workflow default)");
    assert_eq!(created["accept_by"], "2026-01-05T09:15:00Z");
    assert_eq!(created["resolve_by"], "2026-01-05T13:00:00Z");
    let policy = app.get_ok(LEAD, "/v1/policy").await;
    assert_eq!(created["policy_version"], policy["version"]);
}

#[tokio::test]
async fn a_reloaded_policy_checks_contracts_routes_and_keeps_versions() {
    let app = spawn_app().await;
    let version = load(&app, INVOICES).await;
    // The invoice workflow parks incomplete payloads as needs_context.
    let parked = app
        .create(ADMIN, invoice(json!({"amount_usd": "lots"})))
        .await;
    assert_eq!(parked["state"], "needs_context");
    assert_eq!(
        parked["missing_fields"],
        json!([
            "context.payload.invoice_id",
            "context.payload.vendor_id",
            "context.payload.amount_usd"
        ])
    );
    let id = parked["id"].as_str().unwrap().to_owned();
    let queue = app.get_ok(LEAD, "/v1/views/oldest").await;
    assert!(
        queue["items"].as_array().unwrap().is_empty(),
        "parked items are in no queue"
    );
    let (status, json) = app
        .act(
            ADMIN,
            &id,
            "provide-context",
            json!({"payload": {"invoice_id": "I-9", "amount_usd": 7000}}),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "context.payload.vendor_id", "{json}");
    assert_eq!(error["details"].as_array().unwrap().len(), 1, "{json}");
    let queued = app
        .act_ok(
            ADMIN,
            &id,
            "provide-context",
            json!({"payload": {"invoice_id": "I-9", "amount_usd": 7000, "vendor_id": "V-1"}}),
        )
        .await;
    assert_eq!(queued["handoff"]["state"], "pending");
    assert_eq!(queued["event"]["kind"], "context_received");
    assert_eq!(
        queued["policy_version"], version,
        "an action that consults the policy names its version"
    );
    assert!(queued["handoff"].get("missing_fields").is_none());
    let (status, json) = app
        .act(ADMIN, &id, "provide-context", json!({"payload": {}}))
        .await;
    assert_error(status, &json, StatusCode::CONFLICT, "illegal_transition");

    let big = app.create(ADMIN, invoice(json!({"invoice_id": "I-1", "vendor_id": "V-9", "amount_usd": 9000, "po_number": "PO-3"}))).await;
    assert_eq!(big["owner_group"], "procurement-analysts");
    assert_eq!(big["route_rule"], "over-5000-to-procurement");
    assert_eq!(big["policy_version"], version.as_str());
    // Monday 2026-01-05 09:00Z is 04:00 in New York: 8 business hours run 09:00–17:00 there.
    assert_eq!(big["accept_by"], "2026-01-05T22:00:00Z");
    let small = app
        .create(
            ADMIN,
            invoice(json!({"invoice_id": "I-2", "vendor_id": "V-9", "amount_usd": 120})),
        )
        .await;
    assert_eq!(small["owner_group"], "ap-clerks");
    let detail = app
        .get_ok(
            LEAD,
            &format!("/v1/handoffs/{}", big["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(
        detail["events"][0]["data"]["policy_version"],
        version.as_str()
    );

    // A broken policy is refused whole, with every problem; the active one stays.
    let broken = format!(
        "{INVOICES}\n[[route]]\nid = \"late\"\ngroup = \"nobody\"\n[[trigger]]\nid = \"t\"\nwhen = \"confidnce < 1\"\nreason = \"price_variance\"\nimpact = \"normal\"\n"
    );
    let (status, json) = app
        .request(
            Method::PUT,
            "/v1/policy",
            Some(ADMIN),
            Some(json!({ "text": broken })),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["details"].as_array().unwrap().len(), 3, "{json}");
    let policy = app.get_ok(LEAD, "/v1/policy").await;
    assert_eq!(policy["version"], version.as_str());
    let other = load(&app, CHAT).await;
    let policy = app.get_ok(LEAD, "/v1/policy").await;
    let kept: Vec<&str> = policy["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(kept, vec![version.as_str(), other.as_str()]);
}

fn turn(conversation: &str, turn: u32, signal: Value) -> Value {
    let mut s = signal;
    s["conversation_id"] = conversation.into();
    s["turn"] = turn.into();
    s
}

async fn evaluate(app: &TestApp, body: Value) -> Value {
    let (status, json) = app
        .request(Method::POST, "/v1/evaluate", Some(AGENT), Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json
}

#[tokio::test]
async fn a_reject_workflow_refuses_incomplete_payloads_naming_every_field() {
    let app = spawn_app().await;
    load(&app, CHAT).await;
    let mut body = new_handoff("normal", "low_confidence");
    body["context"]["payload"] = json!({"channel": "fax"});
    let (status, json) = app
        .request(Method::POST, "/v1/handoffs", Some(AGENT), Some(body))
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    let mut fields: Vec<&str> = error["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    fields.sort();
    assert_eq!(
        fields,
        vec!["context.payload.channel", "context.payload.customer_id"]
    );
}

#[tokio::test]
async fn evaluate_decides_keeps_streaks_and_creates_once_per_turn() {
    let app = spawn_app().await;
    load(&app, CHAT).await;
    let proceed = evaluate(
        &app,
        json!({"signal": turn("c1", 1, json!({"intent": "balance", "confidence": 0.99}))}),
    )
    .await;
    assert_eq!(proceed["action"], "proceed");
    let person = evaluate(
        &app,
        json!({"signal": turn("c1", 2, json!({"explicit_request": true}))}),
    )
    .await;
    assert_eq!(
        (
            person["action"].as_str(),
            person["tier"].as_str(),
            person["rule"].as_str()
        ),
        (Some("handoff"), Some("immediate"), Some("asked-for-person"))
    );

    // Low confidence twice in a row; evaluating turn 2 again gives the same answer.
    let unsure =
        |t| json!({"signal": turn("c2", t, json!({"intent": "card_lost", "confidence": 0.5}))});
    assert_eq!(evaluate(&app, unsure(1)).await["action"], "proceed");
    assert_eq!(evaluate(&app, unsure(2)).await["action"], "handoff");
    assert_eq!(evaluate(&app, unsure(2)).await["action"], "handoff");

    let draft = json!({
        "workflow": "support-chat", "title": "customer wants a person",
        "subject": {"source": "web-chat", "ref": "conv-9"},
        "context": {"summary": "asked twice for a person", "payload": {"customer_id": "C-1", "channel": "web"}},
    });
    let body = json!({"signal": turn("c9", 4, json!({"text": "let me talk to a human"})), "create": true, "handoff": draft});
    let first = evaluate(&app, body.clone()).await;
    assert_eq!(first["action"], "handoff");
    assert_eq!(first["handoff"]["reason"], "explicit_request");
    assert_eq!(first["handoff"]["impact"], "urgent");
    assert_eq!(first["handoff"]["tier"], "immediate");
    assert_eq!(first["handoff"]["owner_group"], "support");
    assert_eq!(
        first["handoff"]["callback_url"], "https://bank.example/hooks/baton",
        "the workflow's default callback"
    );
    assert_eq!(first["replayed"], false);
    let again = evaluate(&app, body).await;
    assert_eq!(again["handoff"]["id"], first["handoff"]["id"]);
    assert_eq!(again["replayed"], true);

    // A proceed decision creates nothing even with create: true.
    let calm = json!({"signal": turn("c10", 1, json!({"intent": "faq", "confidence": 0.99})), "create": true, "handoff": draft});
    assert!(evaluate(&app, calm).await.get("handoff").is_none());
    // create without a draft is refused by name.
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/evaluate",
            Some(AGENT),
            Some(json!({"signal": {"conversation_id": "x", "turn": 1}, "create": true})),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "handoff");
}

#[tokio::test]
async fn evaluate_refuses_missing_or_old_turns_and_changed_retries() {
    let app = spawn_app().await;
    load(&app, CHAT).await;
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/evaluate",
            Some(AGENT),
            Some(json!({"signal": {"conversation_id": "c"}})),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "signal.turn");
    evaluate(
        &app,
        json!({"signal": turn("c", 5, json!({"confidence": 0.5}))}),
    )
    .await;
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/evaluate",
            Some(AGENT),
            Some(json!({"signal": turn("c", 4, json!({}))})),
        )
        .await;
    let error = assert_error(status, &json, StatusCode::CONFLICT, "conflict");
    assert_eq!(error["field"], "signal.turn");

    let draft = |title: &str| {
        json!({
            "workflow": "support-chat", "title": title, "subject": {"source": "web-chat", "ref": "conv-1"},
            "context": {"payload": {"customer_id": "C-1", "channel": "app"}},
        })
    };
    let ask = |title: &str| json!({"signal": turn("d", 1, json!({"explicit_request": true})), "create": true, "handoff": draft(title)});
    evaluate(&app, ask("first")).await;
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/evaluate",
            Some(AGENT),
            Some(ask("changed")),
        )
        .await;
    assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_mismatch",
    );
    let mut elsewhere = ask("first");
    elsewhere["handoff"]["workflow"] = "payroll".into();
    elsewhere["signal"]["conversation_id"] = "e".into();
    let (status, json) = app
        .request(Method::POST, "/v1/evaluate", Some(AGENT), Some(elsewhere))
        .await;
    assert_error(status, &json, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn groups_and_resolution_reasons_must_be_declared() {
    let app = spawn_app().await;
    let mut body = new_handoff("high", "fraud");
    body["owner_group"] = "ghosts".into();
    let (status, json) = app
        .request(Method::POST, "/v1/handoffs", Some(AGENT), Some(body))
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "owner_group");
    load(&app, INVOICES).await;
    let item = app
        .create(
            ADMIN,
            invoice(
                json!({"invoice_id": "I-1", "vendor_id": "V", "amount_usd": 10, "po_number": "P"}),
            ),
        )
        .await;
    let id = item["id"].as_str().unwrap();
    let claim = app.act_ok(ADMIN, id, "claim", json!({})).await["claim_token"].clone();
    let resolve = |reason: &str| json!({"claim_token": claim, "resolution": "approved", "resolution_reason": reason});
    let (status, json) = app.act(ADMIN, id, "resolve", resolve("because")).await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "resolution_reason");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("vendor_correction_requested"),
        "{json}"
    );
    app.act_ok(ADMIN, id, "resolve", resolve("approved")).await;
}
