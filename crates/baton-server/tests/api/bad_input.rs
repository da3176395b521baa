//! Bad input never gets a 5xx or a panic: every refusal is a 4xx with an
//! `{"error": {"code", "message", "field"?}}` body naming what to fix.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, AGENT, LEAD, REVIEWER, TestApp, assert_error, assert_error_shape, new_handoff, spawn_app,
};

const ACTIONS: [&str; 11] = [
    "claim",
    "release",
    "request-info",
    "provide-info",
    "notes",
    "reassign",
    "escalate",
    "resolve",
    "execution",
    "close",
    "reopen",
];

async fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (StatusCode, Value) {
    let reply = app
        .send_raw(Method::POST, path, Some(ADMIN), content_type, body.to_vec())
        .await;
    (reply.status, reply.json)
}

/// `new_handoff` with `edit` applied.
fn edited(edit: impl FnOnce(&mut Value)) -> Value {
    let mut body = new_handoff("high", "low_confidence");
    edit(&mut body);
    body
}

/// Creates `body` as the admin; asserts a 4xx `code` naming `field`.
async fn assert_refused(app: &TestApp, body: Value, status: StatusCode, code: &str, field: &str) {
    let (got, json) = app
        .request(Method::POST, "/v1/handoffs", Some(ADMIN), Some(body))
        .await;
    let error = assert_error(got, &json, status, code);
    assert_eq!(error["field"], field, "{json}");
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = spawn_app().await;
    let bodies: [&[u8]; 6] = [
        b"{",
        b"{\"workflow\": }",
        b"not json",
        b"{\"workflow\": \"a\"",
        b"\xff\xfe",
        b"[\"support-chat\", ",
    ];
    for body in bodies {
        let (status, json) = post_raw(&app, "/v1/handoffs", Some("application/json"), body).await;
        assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
    }
    let id = app.create_sample("high", "fraud").await;
    let (status, json) = post_raw(
        &app,
        &format!("/v1/handoffs/{id}/notes"),
        Some("application/json"),
        b"{\"text\": ",
    )
    .await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
}

#[tokio::test]
async fn the_body_must_be_declared_json() {
    let app = spawn_app().await;
    let body = new_handoff("high", "fraud").to_string();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, json) = post_raw(&app, "/v1/handoffs", content_type, body.as_bytes()).await;
        assert_error(
            status,
            &json,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );
    }
    let id = app.create_sample("high", "fraud").await;
    let (status, json) = post_raw(
        &app,
        &format!("/v1/handoffs/{id}/notes"),
        Some("text/plain"),
        b"{\"text\": \"hi\"}",
    )
    .await;
    assert_error(
        status,
        &json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    // Parameters and case do not matter.
    let (status, json) = post_raw(
        &app,
        "/v1/handoffs",
        Some("Application/JSON; charset=utf-8"),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    // An empty action body needs no content type.
    let (status, json) = post_raw(&app, &format!("/v1/handoffs/{id}/claim"), None, b"").await;
    assert_eq!(status, StatusCode::OK, "{json}");
}

#[tokio::test]
async fn bodies_over_the_limit_are_a_413() {
    let app = spawn_app().await;
    let limit = app.state.config.body_limit;
    let mut body = new_handoff("high", "fraud");
    body["context"]["payload"]["blob"] = "x".repeat(limit).into();
    let (status, json) = post_raw(
        &app,
        "/v1/handoffs",
        Some("application/json"),
        body.to_string().as_bytes(),
    )
    .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(&limit.to_string()),
        "{json}"
    );
    let id = app.create_sample("high", "fraud").await;
    let note = json!({"text": "y".repeat(limit + 1)}).to_string();
    let (status, json) = post_raw(
        &app,
        &format!("/v1/handoffs/{id}/notes"),
        Some("application/json"),
        note.as_bytes(),
    )
    .await;
    assert_error(
        status,
        &json,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    // Just under the limit is parsed (and refused for its content, not its size).
    let mut big = new_handoff("high", "fraud");
    big["context"]["payload"]["blob"] = "x".repeat(limit - 2_000).into();
    let (status, json) = app
        .request(Method::POST, "/v1/handoffs", Some(ADMIN), Some(big))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

#[tokio::test]
async fn bad_fields_are_named() {
    let app = spawn_app().await;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let cases: Vec<(Value, &str)> = vec![
        (
            edited(|b| {
                b["subject"].as_object_mut().unwrap().remove("ref");
            }),
            "subject.ref",
        ),
        (
            edited(|b| {
                b.as_object_mut().unwrap().remove("workflow");
            }),
            "workflow",
        ),
        (edited(|b| b["tier"] = "lukewarm".into()), "tier"),
        (
            edited(|b| b["context"]["ai_assessment"]["confidence"] = 1.5.into()),
            "context.ai_assessment.confidence",
        ),
        (
            edited(|b| b["context"]["ai_assessment"]["confidence"] = (-0.1).into()),
            "context.ai_assessment.confidence",
        ),
        (
            edited(|b| b["context"]["ai_assessment"]["confidence"] = "high".into()),
            "context.ai_assessment.confidence",
        ),
        (
            edited(|b| b["workflow"] = "Support Chat".into()),
            "workflow",
        ),
        (edited(|b| b["impact"] = "".into()), "impact"),
        (edited(|b| b["owner_group"] = "Ops!".into()), "owner_group"),
        (edited(|b| b["title"] = "   ".into()), "title"),
        (
            edited(|b| b["title"] = "t".repeat(16 * 1024 + 1).into()),
            "title",
        ),
        (
            edited(|b| b["subject"]["url"] = "ftp://x".into()),
            "subject.url",
        ),
        (
            edited(|b| b["callback_url"] = "nope".into()),
            "callback_url",
        ),
        (edited(|b| b["surprise"] = true.into()), "surprise"),
        (
            edited(|b| b["subject"]["extra"] = 1.into()),
            "subject.extra",
        ),
        (
            edited(|b| b["context"]["payload"] = json!([1, 2])),
            "context.payload",
        ),
        (
            edited(|b| {
                b["context"]["messages"] = json!(vec![json!({"role": "c", "text": "t"}); 501])
            }),
            "context.messages",
        ),
        (
            edited(|b| {
                b["context"]["links"] = json!([{"label": "x", "url": "javascript:alert(1)"}])
            }),
            "context.links[0].url",
        ),
    ];
    for (body, field) in cases {
        assert_refused(&app, body, unprocessable, "invalid_field", field).await;
    }
    let listed = app.get_ok(LEAD, "/v1/handoffs").await;
    assert_eq!(listed["items"], json!([]), "nothing was created");

    // Actions name their fields too.
    let id = app.create_sample("high", "fraud").await;
    let cases = [
        ("notes", json!({}), "text"),
        (
            "notes",
            json!({"text": "x", "visibility": "everyone"}),
            "visibility",
        ),
        ("notes", json!({"text": "   "}), "text"),
        ("execution", json!({"outcome": "maybe"}), "outcome"),
        (
            "resolve",
            json!({"resolution": "approved"}),
            "resolution_reason",
        ),
        (
            "resolve",
            json!({"resolution": "approved", "resolution_reason": "ok", "bogus": 1}),
            "bogus",
        ),
        (
            "reassign",
            json!({"owner_group": "Not A Label"}),
            "owner_group",
        ),
        ("escalate", json!({"reason": ""}), "reason"),
        ("claim", json!({"assignee": "someone-else"}), "assignee"),
    ];
    for (action, body, field) in cases {
        let (status, json) = app.act(LEAD, &id, action, body).await;
        let error = assert_error(status, &json, unprocessable, "invalid_field");
        assert_eq!(error["field"], field, "{action}: {json}");
    }
    // A corrected resolution must say what changed.
    let claim = app.act_ok(LEAD, &id, "claim", json!({})).await["claim_token"].clone();
    let (status, json) = app
        .act(
            LEAD,
            &id,
            "resolve",
            json!({"claim_token": claim, "resolution": "corrected", "resolution_reason": "fixed"}),
        )
        .await;
    let error = assert_error(status, &json, unprocessable, "invalid_field");
    assert_eq!(error["field"], "changes");
}

#[tokio::test]
async fn unknown_actions_ids_and_routes_are_404() {
    let app = spawn_app().await;
    let id = app.create_sample("high", "fraud").await;
    let not_found = StatusCode::NOT_FOUND;
    let (status, json) = app.act(LEAD, &id, "approve", json!({})).await;
    let error = assert_error(status, &json, not_found, "not_found");
    assert!(
        error["message"].as_str().unwrap().contains("claim"),
        "{json}"
    );
    for bad_id in ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"] {
        let (status, json) = app
            .request(
                Method::GET,
                &format!("/v1/handoffs/{bad_id}"),
                Some(LEAD),
                None,
            )
            .await;
        assert_error(status, &json, not_found, "not_found");
        let (status, json) = app.act(LEAD, bad_id, "claim", json!({})).await;
        assert_error(status, &json, not_found, "not_found");
    }
    // A well-formed id that does not exist.
    let missing = uuid::Uuid::now_v7();
    let (status, json) = app
        .request(
            Method::GET,
            &format!("/v1/handoffs/{missing}"),
            Some(LEAD),
            None,
        )
        .await;
    assert_error(status, &json, not_found, "not_found");
    let (status, json) = app
        .act(LEAD, &missing.to_string(), "claim", json!({}))
        .await;
    assert_error(status, &json, not_found, "not_found");
    for path in [
        "/nope",
        "/v1",
        "/v1/handoff",
        "/v1/views/newest",
        "/v1/handoffs/x/claim/y",
    ] {
        let (status, json) = app.request(Method::GET, path, Some(LEAD), None).await;
        assert_error(status, &json, not_found, "not_found");
    }
}

#[tokio::test]
async fn wrong_methods_are_405() {
    let app = spawn_app().await;
    let id = app.create_sample("high", "fraud").await;
    let cases = [
        (Method::DELETE, "/v1/handoffs".to_owned()),
        (Method::PUT, format!("/v1/handoffs/{id}")),
        (Method::DELETE, format!("/v1/handoffs/{id}")),
        (Method::GET, format!("/v1/handoffs/{id}/claim")),
        (Method::POST, "/v1/views/oldest".to_owned()),
        (Method::POST, "/healthz".to_owned()),
        (Method::PATCH, "/v1/events".to_owned()),
    ];
    for (method, path) in cases {
        let (status, json) = app.request(method, &path, Some(ADMIN), None).await;
        assert_error(
            status,
            &json,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
}

#[tokio::test]
async fn bad_query_parameters_are_named() {
    let app = spawn_app().await;
    let cases = [
        ("/v1/handoffs?limit=0", Some("limit")),
        ("/v1/handoffs?limit=501", Some("limit")),
        ("/v1/handoffs?sort=foo", Some("sort")),
        ("/v1/handoffs?cursor=junk", Some("cursor")),
        ("/v1/handoffs?cursor=1.2", Some("cursor")),
        ("/v1/handoffs?state=bogus", Some("state")),
        ("/v1/handoffs?state=pending,nope", Some("state")),
        ("/v1/handoffs?limit=abc", Some("limit")),
        ("/v1/handoffs?limit=-1", Some("limit")),
        ("/v1/handoffs?color=red", Some("color")),
        ("/v1/handoffs?limit=1&limit=2", Some("limit")),
        ("/v1/views/oldest?limit=0", Some("limit")),
        ("/v1/views/ownerless?limit=100000", Some("limit")),
        ("/v1/views/reasons?window_hours=0", Some("window_hours")),
        ("/v1/views/reasons?window_hours=9000", Some("window_hours")),
        ("/v1/views/reasons?window_hours=x", Some("window_hours")),
        ("/v1/events?limit=0", Some("limit")),
        ("/v1/events?limit=1001", Some("limit")),
        ("/v1/events?after=soon", Some("after")),
        ("/v1/events?after=99999999999999999999", Some("after")),
        ("/v1/events/stream?limit=x", Some("limit")),
        ("/v1/reports/summary?bogus=1", Some("bogus")),
    ];
    for (path, field) in cases {
        let (status, json) = app.request(Method::GET, path, Some(ADMIN), None).await;
        let error = assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_query");
        let field: Option<&str> = field;
        assert_eq!(error["field"].as_str(), field, "{path}: {json}");
    }
    // The good forms of the same parameters work.
    for path in [
        "/v1/handoffs?limit=1&sort=age&state=pending,in_progress",
        "/v1/handoffs?limit=500&sort=created&state=",
        "/v1/handoffs?assignee=none&owner_group=triage&impact=high&reason=x&workflow=support-chat",
        "/v1/views/reasons?window_hours=8784",
        "/v1/events?after=-5&limit=1000",
    ] {
        app.get_ok(ADMIN, path).await;
    }
}

/// Odd bodies: each is refused with a 4xx (or accepted), never a 5xx.
fn odd_bodies() -> Vec<Vec<u8>> {
    let deep_arrays = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let mut deep_objects = String::new();
    for _ in 0..200 {
        deep_objects.push_str("{\"a\":");
    }
    deep_objects.push('1');
    deep_objects.push_str(&"}".repeat(200));
    let mut deep_payload = new_handoff("high", "fraud");
    let mut nested = json!(1);
    for _ in 0..100 {
        nested = json!({ "n": nested });
    }
    deep_payload["context"]["payload"]["deep"] = nested;
    let mut unicode = new_handoff("high", "fraud");
    unicode["title"] = "Rückerstattung 払い戻し 🎉 \u{202e}txet\u{200b}".into();
    unicode["context"]["summary"] = "\u{fffd}\u{10ffff}".into();
    let mut unicode_labels = new_handoff("hïgh", "frаud");
    unicode_labels["workflow"] = "süpport".into();
    let mut huge = new_handoff("high", "fraud");
    huge["context"]["messages"] = json!([{ "role": "customer", "text": "z".repeat(400_000) }]);
    let mut many = new_handoff("high", "fraud");
    many["context"]["payload"] = (0..5_000)
        .map(|i| (format!("k{i}"), json!(i)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    let texts: Vec<String> = vec![
        String::new(),
        "{}".into(),
        "[]".into(),
        "null".into(),
        "true".into(),
        "0".into(),
        "-1".into(),
        "1e999".into(),
        "NaN".into(),
        "\"string\"".into(),
        "[1, 2, 3]".into(),
        "[{}]".into(),
        "{\"a\": 1, \"a\": 2}".into(),
        "{\"workflow\": null}".into(),
        "{\"text\": null, \"info\": null, \"reason\": null, \"question\": null}".into(),
        "{\"text\": 5, \"outcome\": [], \"owner_group\": {}}".into(),
        "{\"claim_token\": 12}".into(),
        "{\"resolution\": \"approved\", \"resolution_reason\": \"\"}".into(),
        "{\"text\": \"\\ud800\"}".into(),
        "{\"text\": \"nul \\u0000 inside\", \"info\": \"\\u0000\", \"question\": \"\\u0000\", \"reason\": \"\\u0000\"}".into(),
        "\u{feff}{}".into(),
        "   \n\t ".into(),
        format!("\"{}\"", "s".repeat(500_000)),
        format!("{{\"text\": \"{}\"}}", "n".repeat(300_000)),
        format!("{{\"{}\": 1}}", "k".repeat(100_000)),
        deep_arrays,
        deep_objects,
        deep_payload.to_string(),
        unicode.to_string(),
        unicode_labels.to_string(),
        huge.to_string(),
        many.to_string(),
        json!({"info": "日本語の回答", "text": "🙂", "reason": "ñ", "question": "¿?"}).to_string(),
        json!({"outcome": "executed", "detail": "d".repeat(20_000)}).to_string(),
        json!({"owner_group": "x".repeat(65)}).to_string(),
        json!({"resolution": "corrected", "resolution_reason": "r", "changes": null}).to_string(),
    ];
    let mut bodies: Vec<Vec<u8>> = texts.into_iter().map(String::into_bytes).collect();
    bodies.push(vec![0xff, 0x00, 0xfe]);
    bodies.push(b"{\"text\": \"\xc3\x28\"}".to_vec());
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_bodies_never_get_a_5xx() {
    let app = spawn_app().await;
    let id = app.create_sample("high", "fraud").await;
    let mut paths = vec!["/v1/handoffs".to_owned()];
    paths.extend(ACTIONS.iter().map(|a| format!("/v1/handoffs/{id}/{a}")));
    let bodies = odd_bodies();
    assert!(bodies.len() >= 36);
    let mut answered = 0;
    for path in &paths {
        for body in &bodies {
            for token in [ADMIN, REVIEWER, AGENT] {
                let reply = app
                    .send_raw(
                        Method::POST,
                        path,
                        Some(token),
                        Some("application/json"),
                        body.clone(),
                    )
                    .await;
                let shown = String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned();
                assert!(
                    reply.status.as_u16() < 500,
                    "POST {path} with {shown:?} as {token}: {} {}",
                    reply.status,
                    reply.json
                );
                if !reply.status.is_success() {
                    assert!(reply.status.is_client_error(), "{path} {shown:?}");
                    assert_error_shape(&reply.json);
                }
                answered += 1;
            }
        }
    }
    assert_eq!(answered, paths.len() * bodies.len() * 3);
    // The server still answers and the handoff is readable.
    let detail = app.get_ok(LEAD, &format!("/v1/handoffs/{id}")).await;
    assert!(detail["events"].as_array().unwrap().len() >= 2);
    app.get_ok(LEAD, "/v1/handoffs?limit=500").await;
    app.get_ok(LEAD, "/v1/events?limit=1000").await;
}

#[tokio::test]
async fn trailing_bytes_and_wrong_types_are_refused_by_name() {
    let app = spawn_app().await;
    let mut body = serde_json::to_vec(&new_handoff("high", "fraud")).unwrap();
    body.extend_from_slice(b" trailing garbage");
    let (status, json) = post_raw(&app, "/v1/handoffs", Some("application/json"), &body).await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
    let id = app.create_sample("high", "fraud").await;
    let (status, json) = post_raw(
        &app,
        &format!("/v1/handoffs/{id}/notes"),
        Some("application/json"),
        b"{\"text\":\"a\"}{\"text\":\"b\"}",
    )
    .await;
    assert_error(status, &json, StatusCode::BAD_REQUEST, "invalid_json");
    assert_refused(
        &app,
        edited(|b| b["tier"] = json!(3)),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        "tier",
    )
    .await;
    let (status, json) = app
        .act(ADMIN, &id, "execution", json!({"outcome": 1}))
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "outcome", "{json}");
    let (status, json) = app
        .act(
            ADMIN,
            &id,
            "resolve",
            json!({"resolution": "approved", "resolution_reason": "ok", "surprise": 1}),
        )
        .await;
    let error = assert_error(
        status,
        &json,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );
    assert_eq!(error["field"], "surprise", "{json}");
}

#[tokio::test]
async fn badly_encoded_paths_get_a_json_400_naming_the_segment() {
    let app = spawn_app().await;
    for (method, path, field) in [
        (Method::GET, "/v1/handoffs/%FF", "id"),
        (Method::POST, "/v1/handoffs/%FF/claim", "id"),
        (Method::POST, "/v1/handoffs/abc/%FF", "action"),
        (Method::GET, "/v1/handoffs/a%00b", "id"),
        (Method::POST, "/v1/handoffs/%00/notes", "id"),
        (Method::POST, "/v1/handoffs/abc/cl%00aim", "action"),
    ] {
        let reply = app
            .send_raw(method, path, Some(LEAD), None, Vec::new())
            .await;
        let error = assert_error(
            reply.status,
            &reply.json,
            StatusCode::BAD_REQUEST,
            "invalid_path",
        );
        assert_eq!(error["field"], field, "{path}: {}", reply.json);
    }
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let header = format!("{scheme} {LEAD}");
        let reply = app
            .call(
                Method::GET,
                "/v1/handoffs",
                None,
                None,
                &[("authorization", &header)],
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}: {:?}", reply.json);
    }
}
