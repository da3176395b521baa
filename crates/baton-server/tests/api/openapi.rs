//! The self-description of the API: `/openapi.json` lists exactly the routes
//! of `ENDPOINTS`, `/docs` renders it, and the health probes answer.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use baton_server::ENDPOINTS;

use crate::helpers::spawn_app;

#[tokio::test]
async fn openapi_lists_every_endpoint() {
    let app = spawn_app().await;
    let (status, doc) = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
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

    for endpoint in ENDPOINTS {
        let op = &paths[endpoint.path][endpoint.method.to_lowercase()];
        assert_eq!(op["summary"], endpoint.summary);
        match endpoint.permission {
            Some(permission) => {
                assert_eq!(op["security"][0]["bearer"], serde_json::json!([]));
                assert_eq!(op["x-baton-permission"], format!("{permission:?}"));
            }
            None => assert!(op.get("security").is_none(), "{}", endpoint.path),
        }
        if endpoint.path.contains("{id}") {
            assert_eq!(op["parameters"][0]["name"], "id");
            assert_eq!(op["parameters"][0]["in"], "path");
        }
    }
    let schemes = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
    for schema in ["Error", "NewHandoff", "Handoff"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
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
