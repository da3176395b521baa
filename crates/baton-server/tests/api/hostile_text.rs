//! Text PostgreSQL cannot store, and text over the length table, on both
//! backends: U+0000 in every query parameter of every GET route, every path
//! segment and every text field of every request body is a 400 naming the
//! field, never a 5xx; one character over a field's row in
//! `baton_core::limits::TABLE` is a 4xx naming the field.

use axum::http::{Method, StatusCode};
use baton_core::Label;
use baton_core::limits::{QUERY_VALUE, max_chars};
use serde_json::{Value, json};

use crate::helpers::{ADMIN, TestApp, assert_error_shape, on_both_backends};

/// Every query parameter of every GET route that takes one.
const QUERY_PARAMS: &[(&str, &[&str])] = &[
    ("/v1/deliveries", &["state", "limit"]),
    (
        "/v1/handoffs",
        &[
            "state",
            "owner_group",
            "impact",
            "reason",
            "assignee",
            "workflow",
            "sort",
            "limit",
            "cursor",
        ],
    ),
    ("/v1/views/oldest", &["limit"]),
    ("/v1/views/ownerless", &["limit"]),
    ("/v1/views/reasons", &["window_hours"]),
    ("/v1/reports/summary", &["from", "to", "by"]),
    ("/v1/reports/weekly", &["to"]),
    ("/v1/events", &["after", "limit"]),
    ("/v1/events/stream", &["after", "limit"]),
];

/// Label fields of a create: at most `Label::MAX_LEN` characters.
const LABELS: [&str; 4] = ["workflow", "impact", "reason", "owner_group"];

/// A create body with every text field filled in.
fn full_create() -> Value {
    json!({
        "workflow": "support-chat",
        "subject": {"source": "zendesk", "ref": "T-1", "url": "https://example.com/T-1"},
        "title": "refund",
        "impact": "high",
        "reason": "fraud",
        "owner_group": "triage",
        "callback_url": "https://example.com/hook",
        "context": {
            "summary": "s",
            "messages": [{"role": "customer", "text": "t"}],
            "links": [{"label": "ticket", "url": "https://example.com/l"}],
            "suggested_actions": ["refund"],
            "ai_assessment": {
                "proposed_action": "refund", "confidence": 0.5, "model": "m",
                "workflow_path": "p", "sources": ["kb-1"]
            },
            "payload": {"note": "n", "nested": {"deep": ["d"]}}
        }
    })
}

/// Every string leaf of `value` as (field path, JSON pointer).
fn text_fields(value: &Value, path: &str, pointer: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(_) => out.push((path.to_owned(), pointer.to_owned())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                text_fields(
                    item,
                    &format!("{path}[{i}]"),
                    &format!("{pointer}/{i}"),
                    out,
                );
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                text_fields(item, &child, &format!("{pointer}/{key}"), out);
            }
        }
        _ => {}
    }
}

fn fields_of(body: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    text_fields(body, "", "", &mut out);
    out
}

/// Sends `body` and asserts a 4xx `code` naming `field`, never a 5xx.
async fn assert_named(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Value,
    status: &[StatusCode],
    field: &str,
) {
    let reply = app.call(method, path, Some(ADMIN), Some(body), &[]).await;
    assert!(
        status.contains(&reply.status),
        "{path} {field}: {} {}",
        reply.status,
        reply.json
    );
    assert_error_shape(&reply.json);
    assert_eq!(
        reply.json["error"]["field"], field,
        "{path}: {}",
        reply.json
    );
}

const BAD_REQUEST: &[StatusCode] = &[StatusCode::BAD_REQUEST];
const REFUSED: &[StatusCode] = &[StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];

/// Every request body with text, as (method, path, body); `{id}` is filled in.
fn bodies(id: &str) -> Vec<(Method, String, Value)> {
    let act = |a: &str| format!("/v1/handoffs/{id}/{a}");
    vec![
        (Method::POST, "/v1/handoffs".into(), full_create()),
        (Method::POST, act("release"), json!({"claim_token": "c"})),
        (
            Method::POST,
            act("request-info"),
            json!({"claim_token": "c", "question": "q"}),
        ),
        (Method::POST, act("provide-info"), json!({"info": "i"})),
        (
            Method::POST,
            act("notes"),
            json!({"text": "t", "visibility": "internal"}),
        ),
        (
            Method::POST,
            act("reassign"),
            json!({"owner_group": "billing", "reason": "r"}),
        ),
        (
            Method::POST,
            act("escalate"),
            json!({"owner_group": "billing", "reason": "r"}),
        ),
        (
            Method::POST,
            act("resolve"),
            json!({"claim_token": "c", "resolution": "corrected", "resolution_reason": "ok",
                   "changes": {"amount": {"from": "900", "to": "500"}},
                   "customer_note": "n", "internal_note": "i"}),
        ),
        (
            Method::POST,
            act("execution"),
            json!({"outcome": "failed", "detail": "d"}),
        ),
        (Method::POST, act("reopen"), json!({"reason": "r"})),
        (
            Method::POST,
            act("provide-context"),
            json!({"payload": {"po": "p", "list": ["x"]}}),
        ),
        (
            Method::POST,
            "/v1/evaluate".into(),
            json!({
                "signal": {"conversation_id": "c1", "turn": 1, "intent": "refund", "text": "hi",
                           "payload": {"k": "v"}},
                "create": true,
                "handoff": {"workflow": "support-chat", "title": "t", "owner_group": "triage",
                            "subject": {"source": "s", "ref": "r"},
                            "context": {"summary": "s", "links": [{"label": "l", "url": "https://e.com/x"}]}}
            }),
        ),
        (Method::PUT, "/v1/policy".into(), json!({"text": "x = 1"})),
    ]
}

async fn nul_in_every_query_parameter_is_a_400(app: TestApp) {
    let mut checked = 0;
    for (route, params) in QUERY_PARAMS {
        for param in *params {
            for value in ["%00", "a%00b", "pending%00"] {
                let path = format!("{route}?{param}={value}");
                let (status, json) = app.request(Method::GET, &path, Some(ADMIN), None).await;
                assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {json}");
                assert_eq!(json["error"]["code"], "invalid_query", "{path}: {json}");
                assert_eq!(json["error"]["field"], *param, "{path}: {json}");
            }
            let long = "x".repeat(QUERY_VALUE + 1);
            let path = format!("{route}?{param}={long}");
            let (status, json) = app.request(Method::GET, &path, Some(ADMIN), None).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{route} {param}: {json}");
            assert_eq!(json["error"]["field"], *param, "{route}: {json}");
            checked += 1;
        }
    }
    assert_eq!(checked, 22, "every parameter of every GET route");
    // The list is complete: a GET route that reads a query names an unknown
    // parameter; every such route is listed above.
    for endpoint in baton_server::ENDPOINTS {
        if endpoint.method != "GET" || endpoint.path.contains('{') {
            continue;
        }
        let path = format!("{}?bogus=1", endpoint.path);
        let (status, json) = app.request(Method::GET, &path, Some(ADMIN), None).await;
        let reads_query = status == StatusCode::BAD_REQUEST && json["error"]["field"] == "bogus";
        let listed = QUERY_PARAMS
            .iter()
            .any(|(route, _)| *route == endpoint.path);
        assert_eq!(reads_query, listed, "{path}: {status} {json}");
    }
    // A NUL in a parameter's name is named too.
    let (status, json) = app
        .request(Method::GET, "/v1/handoffs?li%00mit=1", Some(ADMIN), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert_eq!(json["error"]["field"], "li\u{0}mit", "{json}");
    // Path segments too.
    for (method, path, field) in [
        (Method::GET, "/v1/handoffs/a%00b", "id"),
        (Method::POST, "/v1/handoffs/%00/claim", "id"),
    ] {
        let (status, json) = app.request(method, path, Some(ADMIN), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {json}");
        assert_eq!(json["error"]["field"], field, "{path}: {json}");
    }
    // Nothing reached the database in a state it could not store.
    app.get_ok(
        ADMIN,
        "/v1/handoffs?owner_group=triage&workflow=support-chat",
    )
    .await;
}

async fn nul_in_every_body_field_is_a_400(app: TestApp) {
    let id = app.create_sample("high", "fraud").await;
    let mut checked = 0;
    for (method, path, body) in bodies(&id) {
        let fields = fields_of(&body);
        assert!(!fields.is_empty(), "{path}");
        for (field, pointer) in fields {
            let mut bad = body.clone();
            *bad.pointer_mut(&pointer).unwrap() = json!("bad\u{0}text");
            assert_named(&app, method.clone(), &path, bad, BAD_REQUEST, &field).await;
            checked += 1;
        }
        // A NUL in an object key of a nested payload or context is named too.
        let mut keyed = body.clone();
        if let Some(object) = keyed.as_object_mut() {
            object.insert("k\u{0}".into(), json!(1));
            assert_named(&app, method.clone(), &path, keyed, BAD_REQUEST, "k\u{0}").await;
        }
    }
    assert!(checked >= 45, "{checked} fields checked");
    // Keys deep inside a payload and a receipt's changes.
    let mut create = full_create();
    create["context"]["payload"]["nested"]["k\u{0}"] = json!(1);
    assert_named(
        &app,
        Method::POST,
        "/v1/handoffs",
        create,
        BAD_REQUEST,
        "context.payload.nested.k\u{0}",
    )
    .await;
    let detail = app.get_ok(ADMIN, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(detail["state"], "pending", "no NUL action went through");
}

/// A value one character over `field`'s limit, valid in every other way.
fn over_long(field: &str) -> String {
    let leaf = field.rsplit('.').next().unwrap_or(field);
    let max = if LABELS.contains(&field) {
        Label::MAX_LEN
    } else {
        max_chars(field)
    };
    if leaf.contains("url") {
        let prefix = "https://example.com/";
        return format!("{prefix}{}", "u".repeat(max + 1 - prefix.len()));
    }
    if LABELS.contains(&field) {
        return "a".repeat(max + 1);
    }
    "é".repeat(max + 1)
}

async fn over_long_create_fields_are_named(app: TestApp) {
    let body = full_create();
    let mut checked = 0;
    for (field, pointer) in fields_of(&body) {
        if field.starts_with("context.payload") {
            continue; // free JSON: bounded by the body limit only
        }
        let mut bad = body.clone();
        *bad.pointer_mut(&pointer).unwrap() = json!(over_long(&field));
        assert_named(&app, Method::POST, "/v1/handoffs", bad, REFUSED, &field).await;
        checked += 1;
    }
    assert_eq!(checked, 19, "every text field of a create");
    // Exactly at the limit is accepted (characters, not bytes).
    let mut fits = full_create();
    fits["context"]["messages"][0]["role"] =
        json!("é".repeat(max_chars("context.messages[0].role")));
    fits["context"]["links"][0]["label"] = json!("é".repeat(max_chars("context.links[0].label")));
    app.create(ADMIN, fits).await;
}

async fn over_long_action_and_evaluate_fields_are_named(app: TestApp) {
    let id = app.create_sample("high", "fraud").await;
    let path = |a: &str| format!("/v1/handoffs/{id}/{a}");
    let long = |f: &str| "x".repeat(max_chars(f) + 1);
    let cases = [
        (path("notes"), json!({"text": long("text")}), "text"),
        (
            path("reassign"),
            json!({"owner_group": "billing", "reason": long("reason")}),
            "reason",
        ),
        (
            path("escalate"),
            json!({"reason": long("reason")}),
            "reason",
        ),
        (
            path("release"),
            json!({"claim_token": long("claim_token")}),
            "claim_token",
        ),
        (
            "/v1/evaluate".to_owned(),
            json!({"signal": {"conversation_id": long("signal.conversation_id"), "turn": 1}}),
            "signal.conversation_id",
        ),
        (
            "/v1/evaluate".to_owned(),
            json!({"signal": {"conversation_id": "c", "turn": 1, "intent": long("signal.intent")}}),
            "signal.intent",
        ),
    ];
    for (path, body, field) in cases {
        assert_named(&app, Method::POST, &path, body, REFUSED, field).await;
    }
}

on_both_backends!(
    nul_in_every_query_parameter_is_a_400,
    nul_in_every_body_field_is_a_400,
    over_long_create_fields_are_named,
    over_long_action_and_evaluate_fields_are_named,
);
