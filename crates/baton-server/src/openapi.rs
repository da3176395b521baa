//! The OpenAPI 3.1 document, generated from [`crate::ENDPOINTS`], and an
//! offline docs page that renders it with a few lines of inline script.

use axum::Json;
use axum::response::{Html, IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::ENDPOINTS;

/// The OpenAPI 3.1 document of the API.
pub fn document() -> Value {
    let mut paths = Map::new();
    for ep in ENDPOINTS {
        let path = paths.entry(ep.path).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": ep.summary,
            "operationId": format!("{} {}", ep.method.to_lowercase(), ep.path),
            "responses": {
                "200": { "description": "ok" },
                "default": { "description": "error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } }
            }
        });
        if let Some(p) = ep.permission {
            op["security"] = json!([{ "bearer": [] }]);
            op["x-baton-permission"] = json!(format!("{p:?}"));
        }
        let params: Vec<Value> = ep
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if !params.is_empty() {
            op["parameters"] = Value::Array(params);
        }
        if ep.method == "POST" && ep.path == "/v1/handoffs" {
            op["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewHandoff" } } } });
            op["responses"]["201"] = json!({ "description": "created", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Handoff" } } } });
        }
        path[ep.method.to_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Baton", "version": env!("CARGO_PKG_VERSION"),
                  "description": "AI-to-human handoff queue" },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(),
        }
    })
}

fn schemas() -> Value {
    json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" } } } } },
        "Subject": { "type": "object", "required": ["source", "ref"], "properties": {
            "source": { "type": "string" }, "ref": { "type": "string" }, "url": { "type": "string", "format": "uri" } } },
        "ContextPacket": { "type": "object", "properties": {
            "summary": { "type": "string" },
            "messages": { "type": "array", "items": { "type": "object", "required": ["role", "text"],
                "properties": { "role": { "type": "string" }, "text": { "type": "string" }, "at": { "type": "string", "format": "date-time" } } } },
            "ai_assessment": { "type": "object", "required": ["proposed_action", "confidence"], "properties": {
                "proposed_action": { "type": "string" }, "confidence": { "type": "number", "minimum": 0, "maximum": 1 },
                "model": { "type": "string" }, "workflow_path": { "type": "string" },
                "sources": { "type": "array", "items": { "type": "string" } } } },
            "suggested_actions": { "type": "array", "items": { "type": "string" } },
            "links": { "type": "array", "items": { "type": "object", "required": ["label", "url"],
                "properties": { "label": { "type": "string" }, "url": { "type": "string" } } } },
            "payload": { "type": "object" } } },
        "NewHandoff": { "type": "object", "required": ["workflow", "subject", "title", "impact", "reason"], "properties": {
            "workflow": { "type": "string" }, "subject": { "$ref": "#/components/schemas/Subject" },
            "title": { "type": "string" }, "impact": { "type": "string" }, "reason": { "type": "string" },
            "tier": { "enum": ["warm", "immediate"] }, "owner_group": { "type": "string" },
            "context": { "$ref": "#/components/schemas/ContextPacket" }, "callback_url": { "type": "string" } } },
        "Handoff": { "type": "object", "properties": {
            "id": { "type": "string", "format": "uuid" }, "workflow": { "type": "string" },
            "subject": { "$ref": "#/components/schemas/Subject" }, "title": { "type": "string" },
            "impact": { "type": "string" }, "reason": { "type": "string" }, "tier": { "enum": ["warm", "immediate"] },
            "owner_group": { "type": "string" }, "assignee": { "type": ["string", "null"] },
            "state": { "enum": ["pending", "in_progress", "waiting", "resolved", "closed"] },
            "ai_state": { "enum": ["proposed", "approved", "corrected", "rejected", "executed", "failed", "escalated"] },
            "context": { "$ref": "#/components/schemas/ContextPacket" },
            "created_at": { "type": "string", "format": "date-time" },
            "queue_age_seconds": { "type": "integer" },
            "receipt": { "type": ["object", "null"] } } },
    })
}

/// `GET /openapi.json`.
pub async fn get_openapi() -> Response {
    Json(document()).into_response()
}

/// `GET /docs`: a self-contained page listing every route from `/openapi.json`.
pub async fn get_docs() -> Response {
    Html(DOCS_PAGE).into_response()
}

const DOCS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Baton API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .3em}.m{display:inline-block;width:4em;font-weight:bold}
li{margin:.3em 0}.p{color:#666;font-size:90%}</style></head>
<body><h1>Baton API</h1>
<p>Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are <code>{"error": {"code", "message", "field"?}}</code>.
The machine-readable document is <a href="/openapi.json">/openapi.json</a>.</p>
<ul id="routes"><li>loading…</li></ul>
<script>
fetch('/openapi.json').then(r => r.json()).then(doc => {
  const ul = document.getElementById('routes'); ul.innerHTML = '';
  for (const [path, ops] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(ops)) {
    const li = document.createElement('li');
    li.innerHTML = '<span class="m"></span><code></code> <span></span> <span class="p"></span>';
    li.children[0].textContent = m.toUpperCase(); li.children[1].textContent = path;
    li.children[2].textContent = op.summary;
    li.children[3].textContent = op['x-baton-permission'] ? '(' + op['x-baton-permission'] + ')' : '(public)';
    ul.appendChild(li);
  }
});
</script></body></html>"#;
