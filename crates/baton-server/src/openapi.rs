//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types' `ToSchema` derives (so it follows their
//! serde shape), completed from [`crate::ENDPOINTS`] (summary, permission,
//! the auth and extractor refusals every operation shares); and an offline
//! docs page that renders it with a few lines of inline script.

mod actions;
mod limits;

use axum::Json;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::api::{
    availability, deliveries, evaluate, events, handoffs, health, policy, reports, views,
};
use crate::{AppState, ENDPOINTS};

/// The error body every refusal has: `{"error": {"code", "message", "field"?, "details"?}}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    /// Stable machine code, e.g. `invalid_field`, `not_found`, `illegal_transition`.
    pub code: String,
    /// What to fix, for people.
    pub message: String,
    /// The offending field, header or query parameter, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem, when there are several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// The `{id}` of a handoff route.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path parameter
pub struct IdParam {
    /// The handoff's id (a UUID; anything else is not found).
    #[param(format = Uuid)]
    id: String,
}

/// A report bound: an RFC 3339 time or a date (midnight UTC).
pub fn time_bound() -> Schema {
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    OneOfBuilder::new()
        .item(string(KnownFormat::DateTime))
        .item(string(KnownFormat::Date))
        .into()
}

/// The `state` filter: lifecycle state names, comma-separated, or empty.
pub fn state_list() -> Schema {
    let names: Vec<&str> = baton_core::LifecycleState::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let one = format!("({})", names.join("|"));
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^({one}(,{one})*)?$")))
        .examples(["pending,in_progress"])
        .into()
}

/// The `signal` of `POST /v1/evaluate`: a `Signal` whose `conversation_id`
/// (1 to 255 characters, not blank) and `turn` are required.
pub fn evaluate_signal() -> Schema {
    let mut schema = match <baton_core::policy::Signal as utoipa::PartialSchema>::schema() {
        RefOr::T(Schema::Object(object)) => object,
        _ => ObjectBuilder::new().build(),
    };
    schema.required = vec!["conversation_id".into(), "turn".into()];
    schema.properties.insert(
        "conversation_id".into(),
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("the conversation or job id"))
            .min_length(Some(1))
            .max_length(Some(255))
            .pattern(Some(r"\S"))
            .into(),
    );
    Schema::Object(schema)
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Baton", description = "AI-to-human handoff queue"),
    paths(
        health::get_health,
        health::get_ready,
        handoffs::create_handoff,
        handoffs::list_handoffs,
        handoffs::get_handoff,
        actions::claim,
        actions::release,
        actions::request_info,
        actions::provide_info,
        actions::add_note,
        actions::reassign,
        actions::escalate,
        actions::resolve,
        actions::report_execution,
        actions::close,
        actions::reopen,
        actions::provide_context,
        evaluate::evaluate_signal,
        policy::get_policy,
        policy::put_policy,
        views::view_oldest,
        views::view_ownerless,
        views::view_aging,
        views::view_reasons,
        reports::report_summary,
        reports::report_weekly,
        events::list_events,
        events::stream_events,
        deliveries::list_deliveries,
        deliveries::redeliver,
        availability::put_availability,
        availability::get_availability,
    ),
    components(schemas(ErrorBody, handoffs::SortParam))
)]
struct ApiDoc;

/// The OpenAPI 3.1 document of the API.
pub fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_else(|_| json!({}));
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    doc["components"]["securitySchemes"] =
        json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    for (path, method, what) in [
        ("/openapi.json", "get", "this document"),
        ("/docs", "get", "the docs page"),
    ] {
        let content = if path == "/docs" {
            json!({ "text/html": { "schema": { "type": "string" } } })
        } else {
            json!({ "application/json": { "schema": { "type": "object" } } })
        };
        doc["paths"][path][method] = json!({
            "operationId": if path == "/docs" { "get_docs" } else { "get_openapi" },
            "tags": ["docs"],
            "responses": { "200": { "description": what, "content": content } }
        });
    }
    link_handoffs(&mut doc);
    limits::apply(&mut doc);
    let schemas = doc["components"]["schemas"].clone();
    for ep in ENDPOINTS {
        let op = &mut doc["paths"][ep.path][ep.method.to_lowercase()];
        if !op.is_object() {
            continue; // not annotated: the document test names it
        }
        complete(op, ep, &schemas);
    }
    doc
}

/// Links the handoff a create, a read or an action answers to every
/// operation on `{id}`, so clients (and schemathesis's stateful phase) can
/// follow it.
fn link_handoffs(doc: &mut Value) {
    let targets: Vec<(String, String, String)> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(path, _)| path.contains("{id}"))
        .flat_map(|(path, ops)| {
            ops.as_object()
                .into_iter()
                .flatten()
                .map(move |(method, op)| {
                    let id = op["operationId"].as_str().unwrap_or(path).to_owned();
                    (id, method.to_uppercase(), path.clone())
                })
        })
        .collect();
    let links = |pointer: &str| {
        let map: serde_json::Map<String, Value> = targets
            .iter()
            .map(|(id, method, path)| {
                let link = json!({
                    "operationId": id,
                    "parameters": { "id": format!("$response.body#{pointer}") },
                    "description": format!("{method} {path} on this handoff"),
                });
                (id.clone(), link)
            })
            .collect();
        Value::Object(map)
    };
    let mut sources = vec![
        ("/v1/handoffs".to_owned(), "post", "201", "/id"),
        ("/v1/handoffs".to_owned(), "post", "200", "/id"),
        ("/v1/handoffs/{id}".to_owned(), "get", "200", "/id"),
    ];
    for (_, method, path) in &targets {
        if method == "POST" {
            sources.push((path.clone(), "post", "200", "/handoff/id"));
        }
    }
    for (path, method, status, pointer) in sources {
        let response = &mut doc["paths"][path.as_str()][method]["responses"][status];
        if response.is_object() {
            response["links"] = links(pointer);
        }
    }
}

/// The document under `policy`: the customer impacts, handoff reasons and
/// owner groups a create may name are the ones it declares.
pub fn document_for(policy: &baton_core::policy::Policy) -> Value {
    let mut doc = document();
    let declared = |names: Vec<&str>, what: &str, nullable: bool| {
        let mut values: Vec<Value> = names.into_iter().map(Value::from).collect();
        let mut types = vec!["string"];
        if nullable {
            values.push(Value::Null);
            types.push("null");
        }
        json!({ "type": types, "enum": values, "description": format!("a {what} the active policy declares") })
    };
    let reasons: Vec<&str> = policy
        .handoff_reasons()
        .keys()
        .map(String::as_str)
        .collect();
    let props = &mut doc["components"]["schemas"]["NewHandoff"]["properties"];
    if props.is_object() {
        props["impact"] = declared(policy.impact_names(), "customer impact", false);
        props["reason"] = declared(reasons, "handoff reason", false);
        props["owner_group"] = declared(policy.group_names(), "owner group", true);
        props["workflow"] = declared(policy.workflow_names(), "workflow", false);
    }
    let draft = &mut doc["components"]["schemas"]["HandoffDraft"]["properties"];
    if draft.is_object() {
        draft["workflow"] = declared(policy.workflow_names(), "workflow", false);
        draft["owner_group"] = declared(policy.group_names(), "owner group", true);
    }
    doc
}

/// Adds what `ep` and the extractors decide for every operation: summary,
/// permission and bearer security, and the refusals they answer.
fn complete(op: &mut Value, ep: &crate::Endpoint, schemas: &Value) {
    op["summary"] = json!(ep.summary);
    let mut errors: Vec<(u16, &str)> = Vec::new();
    if let Some(permission) = ep.permission {
        op["security"] = json!([{ "bearer": [] }]);
        op["x-baton-permission"] = json!(format!("{permission:?}"));
        errors.push((401, "no token, or an unknown or revoked one"));
        errors.push((403, "the token's role may not do this"));
    }
    let has = |location: &str| {
        op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == location))
    };
    if has("query") {
        errors.push((400, "a query parameter is invalid (`field` names it)"));
    }
    if has("path") {
        errors.push((
            400,
            "a path segment is not valid UTF-8 or holds U+0000 (`field` names it)",
        ));
        errors.push((404, "no such handoff, or not in the token's scope"));
    }
    if op["requestBody"].is_object() {
        // An empty body reads as `{}`: the body is required only when its
        // schema has required fields.
        let reference = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .unwrap_or("");
        let required = schemas[reference]["required"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
            || schemas[reference]["allOf"].is_array();
        op["requestBody"]["required"] = json!(required);
        errors.push((
            400,
            "the body is not JSON, repeats a key or holds U+0000 (`field` names it), or a header is invalid",
        ));
        errors.push((413, "the body is over the size limit"));
        errors.push((415, "the body is not `application/json`"));
        errors.push((422, "a field is invalid (`field` names it)"));
    }
    if ep.path.starts_with("/v1/") {
        errors.push((
            503,
            "the database is unavailable, or the request took over `request_timeout`; retry later",
        ));
    }
    errors.push((414, "the request target is over 8 KiB"));
    errors.push((
        431,
        "the request headers are over 32 KiB (`field` names the largest)",
    ));
    let responses = &mut op["responses"];
    for (status, description) in errors {
        let key = status.to_string();
        if responses.get(&key).is_none() {
            responses[key] = json!({
                "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } }
            });
        }
    }
}

/// `GET /openapi.json`: the document under the active policy.
pub async fn get_openapi(State(state): State<AppState>) -> Response {
    Json(document_for(&state.policy.current().policy)).into_response()
}

/// `GET /docs`: a self-contained page listing every route from `/openapi.json`.
pub async fn get_docs() -> Response {
    Html(DOCS_PAGE).into_response()
}

const DOCS_PAGE: &str = include_str!("openapi/docs.html");
