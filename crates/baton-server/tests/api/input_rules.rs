//! The input rules of `docs/input-rules.md`: duplicate JSON keys are
//! refused by path, payload numbers are kept exactly, idempotency keys are
//! scoped by token id, workflows and groups must be declared, request heads
//! over the limits get the JSON error shape, and PostgreSQL tests fail
//! instead of skipping under `CI=true`.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use baton_core::Role;
use baton_store::TokenRecord;
use serde_json::json;

use crate::helpers::{
    ADMIN, LEAD, TestApp, assert_error, id_of, new_handoff, on_both_backends, postgres_url_from,
    spawn_app, start,
};

const CHAT: &str = include_str!("../../../../examples/policies/support-chat.toml");

async fn post_text(app: &TestApp, path: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let reply = app
        .send_raw(
            Method::POST,
            path,
            Some(ADMIN),
            Some("application/json"),
            body.to_owned(),
        )
        .await;
    (reply.status, reply.json)
}

#[tokio::test]
async fn duplicate_keys_are_refused_by_path_at_any_depth() {
    let app = spawn_app().await;
    let body = new_handoff("high", "fraud").to_string();
    let cases = [
        (
            body.replacen("\"title\":", "\"title\":\"a\",\"title\":", 1),
            "title",
        ),
        (
            body.replacen("\"amount\":", "\"amount\":1,\"amount\":", 1),
            "context.payload.amount",
        ),
        (
            body.replacen("\"role\":", "\"role\":\"x\",\"role\":", 1),
            "context.messages[0].role",
        ),
    ];
    for (text, field) in cases {
        let (status, json) = post_text(&app, "/v1/handoffs", &text).await;
        let error = assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
        assert_eq!(error["field"], field, "{json}");
    }
    let id = app.create_sample("high", "fraud").await;
    let (status, json) = post_text(
        &app,
        &format!("/v1/handoffs/{id}/notes"),
        r#"{"text": "a", "text": "b"}"#,
    )
    .await;
    let error = assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(error["field"], "text");
    let (status, json) = post_text(
        &app,
        "/v1/evaluate",
        r#"{"signal": {"conversation_id": "c", "turn": 1, "payload": {"k": 1, "k": 2}}}"#,
    )
    .await;
    let error = assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
    assert_eq!(error["field"], "signal.payload.k");
}

async fn payload_numbers_round_trip_exactly(app: TestApp) {
    let numbers = r#"{"big": 123456789012345678901234567890, "neg": -98765432109876543210987654321, "exact": 0.1000000000000000055511151231257827, "small": 7}"#;
    let body = new_handoff("high", "fraud").to_string().replacen(
        r#"{"amount":900,"currency":"EUR"}"#,
        numbers,
        1,
    );
    assert!(body.contains("123456789012345678901234567890"), "{body}");
    let (status, json) = post_text(&app, "/v1/handoffs", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let reply = app
        .call(
            Method::GET,
            &format!("/v1/handoffs/{}", id_of(&json)),
            Some(LEAD),
            None,
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    for text in [
        "\"big\":123456789012345678901234567890",
        "\"neg\":-98765432109876543210987654321",
        "\"exact\":0.1000000000000000055511151231257827",
        "\"small\":7",
    ] {
        assert!(reply.text.contains(text), "{text} in {}", reply.text);
    }
    // And the created event's copy in the feed, hashed into the chain.
    let feed = app
        .call(Method::GET, "/v1/events", Some(LEAD), None, &[])
        .await;
    assert!(
        feed.text.contains("123456789012345678901234567890"),
        "{}",
        feed.text
    );
}

/// Inserts a token named `name` (the store takes any name; the CLI refuses
/// this one today) and answers its secret.
async fn token_named(app: &TestApp, name: &str) -> String {
    let secret = format!("baton_test_{}", name.replace(':', "_colon_"));
    app.state
        .store
        .insert_token(&TokenRecord {
            id: uuid::Uuid::now_v7(),
            name: name.to_owned(),
            role: Role::Admin,
            groups: Vec::new(),
            workflows: Vec::new(),
            hash: baton_server::token::hash(&secret),
            created_at: start(),
            revoked_at: None,
        })
        .await
        .expect("insert token");
    secret
}

async fn idempotency_keys_are_scoped_by_token_id(app: TestApp) {
    let eu = token_named(&app, "bot:eu").await;
    let bot = token_named(&app, "bot").await;
    let body = new_handoff("high", "fraud");
    let mut ids = Vec::new();
    for (token, key) in [(&eu, "k1"), (&bot, "eu:k1")] {
        let reply = app
            .call(
                Method::POST,
                "/v1/handoffs",
                Some(token),
                Some(body.clone()),
                &[("idempotency-key", key)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{key}: {}", reply.json);
        ids.push(id_of(&reply.json));
    }
    assert_ne!(ids[0], ids[1], "two tokens, two handoffs");
    // Each token still replays its own key.
    let reply = app
        .call(
            Method::POST,
            "/v1/handoffs",
            Some(&bot),
            Some(body.clone()),
            &[("idempotency-key", "eu:k1")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    assert_eq!(id_of(&reply.json), ids[1]);

    // Evaluate's `{token}:evaluate:{conversation}:{turn}` key: the names and
    // conversations below spelt the same key when it held the name.
    app.put_policy(CHAT).await;
    let long = token_named(&app, "bot:evaluate:eu").await;
    let mut made = Vec::new();
    for (token, conversation) in [(&bot, "eu:evaluate:c"), (&long, "c")] {
        let ask = json!({
            "signal": {"conversation_id": conversation, "turn": 1, "explicit_request": true},
            "create": true,
            "handoff": {"workflow": "support-chat", "title": "a person, please",
                        "subject": {"source": "chat", "ref": conversation},
                        "context": {"payload": {"customer_id": "c-1", "channel": "web"}}},
        });
        let (status, json) = app
            .request(Method::POST, "/v1/evaluate", Some(token), Some(ask))
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["replayed"], false, "{json}");
        made.push(id_of(&json["handoff"]));
    }
    assert_ne!(made[0], made[1]);
}

async fn undeclared_workflows_and_groups_are_422_with_the_names(app: TestApp) {
    let mut body = new_handoff("high", "fraud");
    body["workflow"] = "suport-chat".into();
    let (status, json) = app
        .request(Method::POST, "/v1/handoffs", Some(ADMIN), Some(body))
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "workflow");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("support-chat") && message.contains("email"),
        "{json}"
    );
    assert_eq!(
        error["details"]["declared"],
        json!(["default", "email", "support-chat"])
    );

    let id = app.create_sample("high", "fraud").await;
    for action in ["reassign", "escalate"] {
        let (status, json) = app
            .act(
                LEAD,
                &id,
                action,
                json!({"owner_group": "biling", "reason": "wrong team"}),
            )
            .await;
        let error = assert_error(
            status,
            &json,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
        );
        assert_eq!(error["field"], "owner_group", "{action}");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("billing, triage"),
            "{json}"
        );
    }
    // Declared names still work, and the item stayed where it was.
    app.act_ok(LEAD, &id, "reassign", json!({"owner_group": "billing"}))
        .await;
    let detail = app.get_ok(LEAD, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(detail["owner_group"], "billing");
}

on_both_backends!(
    payload_numbers_round_trip_exactly,
    idempotency_keys_are_scoped_by_token_id,
    undeclared_workflows_and_groups_are_422_with_the_names,
);

#[tokio::test]
async fn long_uris_and_large_headers_get_the_json_error_shape() {
    let app = spawn_app().await;
    let uri = format!("/v1/handoffs?cursor={}", "c".repeat(9 * 1024));
    let (status, json) = app.request(Method::GET, &uri, Some(LEAD), None).await;
    let error = assert_error(status, &json, StatusCode::URI_TOO_LONG, "uri_too_long");
    assert_eq!(error["field"], "uri");
    let request = Request::builder()
        .uri("/v1/handoffs")
        .header("authorization", format!("Bearer {LEAD}"))
        .header("x-padding", "p".repeat(40 * 1024))
        .body(Body::empty())
        .unwrap();
    let reply = app.send(request).await;
    let error = assert_error(
        reply.status,
        &reply.json,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "headers_too_large",
    );
    assert_eq!(error["field"], "x-padding");
    // The same over a real socket, through hyper.
    let served = app.serve().await;
    let (status, body) = raw_get(served.addr, &uri, "").await;
    assert_eq!(status, 414, "{body}");
    assert_eq!(body["error"]["field"], "uri");
    let padding = format!("x-padding: {}\r\n", "p".repeat(40 * 1024));
    let (status, body) = raw_get(served.addr, "/v1/handoffs", &padding).await;
    assert_eq!(status, 431, "{body}");
    assert_eq!(body["error"]["code"], "headers_too_large");
    served.shutdown().await;
}

/// `GET target` over a plain socket with `extra` header lines; the status and JSON body.
async fn raw_get(
    addr: std::net::SocketAddr,
    target: &str,
    extra: &str,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {target} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {LEAD}\r\n{extra}connection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut response),
    )
    .await
    .expect("the server answers")
    .unwrap();
    let text = String::from_utf8_lossy(&response);
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn postgres_tests_fail_instead_of_skipping_under_ci() {
    let url = Some("postgres://x@127.0.0.1/db".to_owned());
    assert_eq!(postgres_url_from(url.clone(), Some("true".into())), url);
    assert_eq!(postgres_url_from(None, None), None);
    assert_eq!(postgres_url_from(None, Some("false".into())), None);
    for ci in ["true", "TRUE"] {
        let skipped = std::panic::catch_unwind(|| postgres_url_from(None, Some(ci.into())));
        assert!(skipped.is_err(), "CI={ci} without a URL must fail");
    }
    let empty =
        std::panic::catch_unwind(|| postgres_url_from(Some(String::new()), Some("true".into())));
    assert!(empty.is_err(), "an empty URL is no URL");
}
