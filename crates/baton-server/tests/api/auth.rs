//! Who may do what: a role × endpoint matrix driven by `ENDPOINTS` and
//! `Role::allows`, bad credentials, and the scopes of reviewers and agents.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use baton_core::Role;
use baton_server::{ENDPOINTS, Endpoint};
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN, AGENT, LEAD, REVIEWER, REVOKED, ROLES, assert_error, id_of, new_handoff, spawn_app,
};

/// A body that parses for `endpoint`, so the request reaches the permission check.
fn body_for(endpoint: &Endpoint) -> Option<Value> {
    if endpoint.method == "GET" {
        return None;
    }
    let action = endpoint.path.rsplit('/').next().unwrap_or("");
    Some(match action {
        "handoffs" => {
            let mut body = new_handoff("high", "low_confidence");
            body["owner_group"] = "triage".into();
            body
        }
        "claim" | "close" | "redeliver" => json!({}),
        "availability" => json!({"available": true}),
        "release" => json!({"claim_token": "not-the-token"}),
        "request-info" => json!({"question": "which order?"}),
        "provide-info" => json!({"info": "order 1234"}),
        "notes" => json!({"text": "a note"}),
        "reassign" => json!({"owner_group": "triage", "reason": "stays here"}),
        "escalate" => json!({"reason": "needs a senior"}),
        "resolve" => json!({"resolution": "approved", "resolution_reason": "policy_ok"}),
        "execution" => json!({"outcome": "executed"}),
        "reopen" => json!({"reason": "again"}),
        "provide-context" => json!({"payload": {"po_number": "PO-1"}}),
        "evaluate" => json!({"signal": {"conversation_id": "c-1", "turn": 1, "confidence": 0.9}}),
        "policy" => {
            json!({"text": format!("{}{}", baton_core::policy::DEFAULT_POLICY, crate::helpers::DECLARED)})
        }
        other => panic!("no body for {other}: add one to the matrix"),
    })
}

/// What an allowed caller gets from `endpoint` on a fresh pending handoff.
fn allowed_status(endpoint: &Endpoint) -> StatusCode {
    match endpoint.path.rsplit('/').next().unwrap_or("") {
        "handoffs" if endpoint.method == "POST" => StatusCode::CREATED,
        "release" | "request-info" | "provide-info" | "resolve" | "execution" | "close"
        | "reopen" | "provide-context" => StatusCode::CONFLICT,
        // The path's id is a handoff's, not a delivery's.
        "redeliver" => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

fn request(endpoint: &Endpoint, id: &str, authorization: Option<&str>) -> Request<Body> {
    let mut req = Request::builder()
        .method(Method::from_bytes(endpoint.method.as_bytes()).unwrap())
        .uri(endpoint.path.replace("{id}", id));
    if let Some(value) = authorization {
        req = req.header("authorization", value);
    }
    match body_for(endpoint) {
        Some(body) => req
            .header("content-type", "application/json")
            .body(Body::from(body.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap()
}

#[tokio::test]
async fn every_protected_endpoint_refuses_bad_credentials() {
    let app = spawn_app().await;
    let id = app.create_sample("high", "low_confidence").await;
    let protected: Vec<&Endpoint> = ENDPOINTS
        .iter()
        .filter(|e| e.permission.is_some())
        .collect();
    assert!(protected.len() >= 20, "the matrix covers the API");
    let revoked = format!("Bearer {REVOKED}");
    let bad = [
        None,
        Some(revoked.as_str()),
        Some("Bearer baton_not_a_real_token"),
        Some("Bearer "),
        Some("Basic YWRtaW46YWRtaW4="),
        Some(ADMIN),
        Some("Bearer"),
    ];
    for endpoint in protected {
        for authorization in bad {
            let reply = app.send(request(endpoint, &id, authorization)).await;
            assert_error(
                reply.status,
                &reply.json,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            );
        }
    }
    let get = ENDPOINTS
        .iter()
        .find(|e| e.method == "GET" && e.path == "/v1/handoffs/{id}")
        .unwrap();
    let reply = app.send(request(get, &id, Some(&revoked))).await;
    assert_eq!(reply.json["error"]["message"], "this token was revoked");
    // Nothing happened to the handoff.
    let detail = app.get_ok(ADMIN, &format!("/v1/handoffs/{id}")).await;
    assert_eq!(detail["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn each_role_gets_exactly_the_endpoints_its_permissions_allow() {
    let app = spawn_app().await;
    let mut checked = 0;
    for endpoint in ENDPOINTS {
        let Some(permission) = endpoint.permission else {
            continue;
        };
        for (role, secret) in ROLES {
            let allowed = role.allows(permission);
            if allowed && endpoint.path == "/v1/events/stream" {
                continue; // it would stream forever; `events` reads it over a socket
            }
            // A fresh pending handoff in the reviewer's group and the agent's workflow.
            let id = app.create_sample("high", "low_confidence").await;
            let bearer = format!("Bearer {secret}");
            let reply = app.send(request(endpoint, &id, Some(&bearer))).await;
            let what = format!(
                "{role} {} {}: {}",
                endpoint.method, endpoint.path, reply.json
            );
            if allowed {
                assert_eq!(reply.status, allowed_status(endpoint), "{what}");
            } else {
                assert_eq!(reply.status, StatusCode::FORBIDDEN, "{what}");
                assert_eq!(reply.json["error"]["code"], "forbidden", "{what}");
                let detail = app.get_ok(ADMIN, &format!("/v1/handoffs/{id}")).await;
                assert_eq!(detail["events"].as_array().unwrap().len(), 1, "{what}");
            }
            checked += 1;
        }
    }
    // 30 protected routes × 4 roles, less the stream for the 2 roles that may read it.
    assert_eq!(checked, 30 * 4 - 2);
}

#[tokio::test]
async fn public_routes_need_no_token() {
    let app = spawn_app().await;
    for endpoint in ENDPOINTS.iter().filter(|e| e.permission.is_none()) {
        let reply = app.send(request(endpoint, "unused", None)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", endpoint.path);
    }
}

#[tokio::test]
async fn reviewers_see_and_work_only_their_groups() {
    let app = spawn_app().await;
    let mut body = new_handoff("high", "fraud");
    body["owner_group"] = "billing".into();
    let billing = id_of(&app.create(ADMIN, body).await);
    let triage = app.create_sample("high", "fraud").await;
    let path = format!("/v1/handoffs/{billing}");

    let (status, json) = app.request(Method::GET, &path, Some(REVIEWER), None).await;
    assert_error(status, &json, StatusCode::NOT_FOUND, "not_found");
    for (action, body) in [
        ("claim", json!({})),
        ("notes", json!({"text": "peek"})),
        ("reassign", json!({"owner_group": "triage"})),
        ("escalate", json!({"reason": "mine now"})),
    ] {
        let (status, json) = app.act(REVIEWER, &billing, action, body).await;
        assert_error(status, &json, StatusCode::NOT_FOUND, "not_found");
    }
    let listed = app.get_ok(REVIEWER, "/v1/handoffs").await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [triage.as_str()]);
    // Asking for the other group by filter does not widen the scope.
    let filtered = app
        .get_ok(REVIEWER, "/v1/handoffs?owner_group=billing")
        .await;
    assert_eq!(filtered["items"], json!([]));

    // The item is untouched and a lead still sees it.
    let detail = app.get_ok(LEAD, &path).await;
    assert_eq!(detail["state"], "pending");
    assert_eq!(detail["owner_group"], "billing");
    assert_eq!(detail["events"].as_array().unwrap().len(), 1);
    // In their own group they can work.
    app.act_ok(REVIEWER, &triage, "claim", json!({})).await;
}

#[tokio::test]
async fn agents_stay_within_their_workflows() {
    let app = spawn_app().await;
    let mut body = new_handoff("high", "fraud");
    body["workflow"] = "email".into();
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/handoffs",
            Some(AGENT),
            Some(body.clone()),
        )
        .await;
    let error = assert_error(status, &json, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(error["field"], "workflow");

    let email = id_of(&app.create(ADMIN, body).await);
    let (status, json) = app
        .request(
            Method::GET,
            &format!("/v1/handoffs/{email}"),
            Some(AGENT),
            None,
        )
        .await;
    assert_error(status, &json, StatusCode::NOT_FOUND, "not_found");
    let (status, json) = app
        .act(AGENT, &email, "provide-info", json!({"info": "x"}))
        .await;
    assert_error(status, &json, StatusCode::NOT_FOUND, "not_found");
    let (status, json) = app
        .act(AGENT, &email, "execution", json!({"outcome": "failed"}))
        .await;
    assert_error(status, &json, StatusCode::NOT_FOUND, "not_found");

    let own = app.create_sample("low", "fraud").await;
    let listed = app.get_ok(AGENT, "/v1/handoffs").await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own.as_str()]);
    assert_eq!(
        app.get_ok(LEAD, "/v1/handoffs").await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn the_matrix_covers_every_role() {
    // Guards the matrix above: if a role is added, ROLES must grow with it.
    let covered: Vec<Role> = ROLES.iter().map(|(role, _)| *role).collect();
    assert_eq!(covered, Role::ALL);
}
