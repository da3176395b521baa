//! The self-description of the API: `/openapi.json` lists exactly the routes
//! of `ENDPOINTS` with their parameters, bodies, responses and refusals,
//! what the handlers answer matches the schemas it gives, `/docs` renders
//! it, and the health probes answer.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use baton_server::ENDPOINTS;
use serde_json::{Value, json};

use crate::helpers::{ADMIN, AGENT, id_of, new_handoff, spawn_app};

async fn document() -> Value {
    let app = spawn_app().await;
    let (status, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    doc
}

/// Validates `instance` against `schema`, resolving `#/components/…` in `doc`.
fn check(doc: &Value, schema: &Value, instance: &Value, what: &str) {
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    let validator = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{instance}");
}

/// The schema `doc` gives the `status` answer of `method path`.
fn response_schema<'a>(doc: &'a Value, method: &str, path: &str, status: u16) -> &'a Value {
    let op = &doc["paths"][path][method];
    let schema = &op["responses"][status.to_string()]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path} documents no {status}");
    schema
}

#[tokio::test]
async fn openapi_lists_every_endpoint() {
    let doc = document().await;
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1"), "{version}");
    assert_eq!(doc["info"]["title"], "Baton");

    let paths = doc["paths"].as_object().expect("paths");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("operations")
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|e| (e.method.to_lowercase(), e.path.to_owned()))
        .collect();
    assert_eq!(documented, routed);
    assert_eq!(routed.len(), ENDPOINTS.len(), "no endpoint is listed twice");
    let schemes = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
}

#[tokio::test]
async fn every_operation_documents_parameters_bodies_and_refusals() {
    let doc = document().await;
    for endpoint in ENDPOINTS {
        let what = format!("{} {}", endpoint.method, endpoint.path);
        let op = &doc["paths"][endpoint.path][endpoint.method.to_lowercase()];
        assert_eq!(op["summary"], endpoint.summary, "{what}");
        let responses = op["responses"].as_object().expect("responses");
        let success: Vec<_> = responses.keys().filter(|s| s.starts_with('2')).collect();
        assert!(!success.is_empty(), "{what}: no success answer");
        for (status, response) in responses {
            let content = response["content"].as_object();
            assert!(
                content.is_some_and(|c| c.values().all(|m| m["schema"].is_object())),
                "{what} {status}: no body schema"
            );
            if !status.starts_with('2') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{what} {status}"
                );
            }
        }
        let has = |status: &str| responses.contains_key(status);
        match endpoint.permission {
            Some(permission) => {
                assert_eq!(op["security"], json!([{ "bearer": [] }]), "{what}");
                assert_eq!(op["x-baton-permission"], format!("{permission:?}"));
                assert!(has("401") && has("403"), "{what}");
                assert!(has("503"), "{what}: the database can be down");
            }
            None => assert!(op.get("security").is_none(), "{what}"),
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let named: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let in_path: BTreeSet<&str> = endpoint
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        assert_eq!(named, in_path, "{what}: path parameters");
        if !in_path.is_empty() {
            assert!(has("404"), "{what}");
        }
        for p in &params {
            assert!(p["schema"].is_object(), "{what}: {p}");
            if p["in"] == "query" {
                assert!(has("400"), "{what}: a bad query is refused");
            }
        }
        if endpoint.method == "POST" || endpoint.method == "PUT" {
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(body.is_object(), "{what}: no request body");
            for status in ["400", "413", "415", "422"] {
                assert!(has(status), "{what}: {status}");
            }
        }
    }
}

#[tokio::test]
async fn queries_and_enums_are_described() {
    let doc = document().await;
    let list = &doc["paths"]["/v1/handoffs"]["get"]["parameters"];
    let names: BTreeSet<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "state",
        "owner_group",
        "impact",
        "reason",
        "assignee",
        "workflow",
        "sort",
        "limit",
        "cursor",
    ] {
        assert!(names.contains(name), "{name}");
    }
    let limit = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(limit["schema"]["maximum"], 500);
    let schemas = &doc["components"]["schemas"];
    let states = schemas["LifecycleState"]["enum"].as_array().unwrap();
    assert!(states.contains(&json!("needs_context")), "{states:?}");
    // The length table is the document's: a few fields at each depth.
    assert_eq!(
        schemas["NewHandoff"]["properties"]["title"]["maxLength"],
        baton_core::limits::max_chars("title")
    );
    let message = schemas["Message"]["properties"]["role"]["maxLength"].clone();
    assert_eq!(
        message,
        baton_core::limits::max_chars("context.messages[].role")
    );
    let label = schemas["Link"]["properties"]["label"]["maxLength"].clone();
    assert_eq!(
        label,
        baton_core::limits::max_chars("context.links[].label")
    );
    let source = schemas["Subject"]["properties"]["source"]["maxLength"].clone();
    assert_eq!(source, baton_core::limits::max_chars("subject.source"));
    assert_eq!(schemas["Label"]["maxLength"], baton_core::Label::MAX_LEN);
    assert_eq!(schemas["Label"]["pattern"], baton_core::Label::PATTERN);
}

#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let app = spawn_app().await;
    let (_, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    let body = new_handoff("high", "low_confidence");
    let create = &doc["paths"]["/v1/handoffs"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    check(&doc, create, &body, "the create body");
    let created = app.create(AGENT, body).await;
    check(
        &doc,
        response_schema(&doc, "post", "/v1/handoffs", 201),
        &created,
        "created",
    );
    let id = id_of(&created);
    let claimed = app.act_ok(ADMIN, &id, "claim", json!({})).await;
    check(
        &doc,
        response_schema(&doc, "post", "/v1/handoffs/{id}/claim", 200),
        &claimed,
        "claimed",
    );
    let resolve = json!({
        "claim_token": claimed["claim_token"],
        "resolution": "approved",
        "resolution_reason": "policy_applied",
        "customer_note": "refunded",
    });
    let (status, resolved) = app.act(ADMIN, &id, "resolve", resolve).await;
    if status == StatusCode::OK {
        check(
            &doc,
            response_schema(&doc, "post", "/v1/handoffs/{id}/resolve", 200),
            &resolved,
            "resolved",
        );
    }
    for (path, template) in [
        (format!("/v1/handoffs/{id}"), "/v1/handoffs/{id}"),
        ("/v1/handoffs?limit=1".into(), "/v1/handoffs"),
        ("/v1/events".into(), "/v1/events"),
        ("/v1/views/oldest".into(), "/v1/views/oldest"),
        ("/v1/views/ownerless".into(), "/v1/views/ownerless"),
        ("/v1/views/aging".into(), "/v1/views/aging"),
        ("/v1/views/reasons".into(), "/v1/views/reasons"),
        ("/v1/reports/summary".into(), "/v1/reports/summary"),
        ("/v1/reports/weekly".into(), "/v1/reports/weekly"),
        ("/v1/policy".into(), "/v1/policy"),
        ("/healthz".into(), "/healthz"),
        ("/readyz".into(), "/readyz"),
    ] {
        let answer = app.get_ok(ADMIN, &path).await;
        check(
            &doc,
            response_schema(&doc, "get", template, 200),
            &answer,
            &path,
        );
    }
    let evaluate = json!({
        "signal": {"conversation_id": "c1", "turn": 1, "text": "I want a person", "explicit_request": true},
        "create": true,
        "handoff": {
            "workflow": "support-chat",
            "subject": {"source": "chat", "ref": "c1"},
            "title": "customer asks for a person"
        }
    });
    let schema = &doc["paths"]["/v1/evaluate"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    check(&doc, schema, &evaluate, "the evaluate body");
    let (status, decided) = app
        .request(Method::POST, "/v1/evaluate", Some(ADMIN), Some(evaluate))
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    check(
        &doc,
        response_schema(&doc, "post", "/v1/evaluate", 200),
        &decided,
        "evaluated",
    );
    // Refusals have the documented error body.
    for (method, path, template, status) in [
        (Method::GET, "/v1/handoffs?limit=0", "/v1/handoffs", 400),
        (Method::GET, "/v1/handoffs", "/v1/handoffs", 401),
        (
            Method::GET,
            "/v1/handoffs/0190a000-0000-7000-8000-000000000000",
            "/v1/handoffs/{id}",
            404,
        ),
    ] {
        let token = (status != 401).then_some(ADMIN);
        let (got, error) = app.request(method.clone(), path, token, None).await;
        assert_eq!(got.as_u16(), status, "{path}: {error}");
        let m = method.as_str().to_lowercase();
        check(
            &doc,
            response_schema(&doc, &m, template, status),
            &error,
            path,
        );
    }
}

#[tokio::test]
async fn bodies_the_schema_refuses_the_server_refuses() {
    let app = spawn_app().await;
    let (_, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    let schema = &doc["paths"]["/v1/handoffs"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    let root = json!({ "allOf": [schema], "components": doc["components"] });
    let validator = jsonschema::validator_for(&root).unwrap();
    let mut bad = Vec::new();
    for (field, value) in [
        ("unknown", json!(1)),
        ("title", json!("  ")),
        ("workflow", json!("Not A Label")),
        ("impact", json!("")),
        ("callback_url", json!("ftp://example.com/x")),
        ("tier", json!("later")),
    ] {
        let mut body = new_handoff("high", "low_confidence");
        body[field] = value;
        bad.push((field, body));
    }
    for (field, body) in bad {
        assert!(
            !validator.is_valid(&body),
            "the schema accepts a bad {field}"
        );
        let (status, json) = app
            .request(Method::POST, "/v1/handoffs", Some(ADMIN), Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {json}");
    }
}

#[tokio::test]
async fn every_documented_endpoint_is_routed() {
    let app = spawn_app().await;
    for endpoint in ENDPOINTS {
        let method = Method::from_bytes(endpoint.method.as_bytes()).unwrap();
        let path = endpoint
            .path
            .replace("{id}", "0190a000-0000-7000-8000-000000000000");
        let (status, json) = app.request(method, &path, None, None).await;
        let expect = if endpoint.permission.is_some() {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::OK
        };
        assert_eq!(
            status, expect,
            "{} {}: {json}",
            endpoint.method, endpoint.path
        );
    }
}

#[tokio::test]
async fn docs_page_is_html_that_loads_the_document() {
    let app = spawn_app().await;
    let reply = app.call(Method::GET, "/docs", None, None, &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let content_type = reply.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(reply.text.starts_with("<!doctype html>"), "{}", reply.text);
    assert!(reply.text.contains("/openapi.json"));
    assert!(reply.text.contains("</html>"));
    // Offline: nothing is loaded from another host.
    assert!(!reply.text.contains("http://") && !reply.text.contains("https://"));
    assert!(!reply.text.contains("src="), "no external script or image");
}

#[tokio::test]
async fn health_probes_answer() {
    let app = spawn_app().await;
    let (status, json) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "ok");
    let (status, json) = app.request(Method::GET, "/readyz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "ready");
}

#[tokio::test]
async fn the_served_document_names_the_active_policys_values() {
    let app = spawn_app().await;
    let (_, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    let policy = app.get_ok(ADMIN, "/v1/policy").await;
    let props = &doc["components"]["schemas"]["NewHandoff"]["properties"];
    assert_eq!(props["impact"]["enum"], policy["impacts"]);
    let reasons: Vec<&String> = policy["handoff_reasons"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(props["reason"]["enum"], json!(reasons));
    let groups = props["owner_group"]["enum"].as_array().unwrap();
    assert!(groups.contains(&Value::Null), "owner_group may be left out");
    assert!(groups.contains(&json!("triage")), "{groups:?}");
    // A create naming an undeclared impact is what the enum excludes: 422.
    let (status, json) = app
        .request(
            Method::POST,
            "/v1/handoffs",
            Some(ADMIN),
            Some(new_handoff("not-declared", "low_confidence")),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{json}");
    assert_eq!(json["error"]["field"], "impact");
}

#[tokio::test]
async fn a_created_handoff_links_to_every_operation_on_it() {
    let doc = document().await;
    let links = doc["paths"]["/v1/handoffs"]["post"]["responses"]["201"]["links"]
        .as_object()
        .expect("links from a create");
    let on_id = ENDPOINTS.iter().filter(|e| e.path.contains("{id}")).count();
    assert_eq!(links.len(), on_id);
    let ids: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    for link in links.values() {
        assert!(
            ids.contains(link["operationId"].as_str().unwrap()),
            "{link}"
        );
        assert_eq!(link["parameters"]["id"], "$response.body#/id");
    }
    let after_claim = &doc["paths"]["/v1/handoffs/{id}/claim"]["post"]["responses"]["200"]["links"];
    assert_eq!(
        after_claim["resolve"]["parameters"]["id"],
        "$response.body#/handoff/id"
    );
}
