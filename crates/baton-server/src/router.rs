//! The whole URL space in one place: [`ENDPOINTS`] (tested as a role ×
//! endpoint matrix; gives the OpenAPI document, generated from the handlers'
//! annotations, its summaries, permissions and shared refusals, and a test
//! checks both list the same routes) and the axum [`router`].

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use baton_core::Permission;
use tower_http::catch_panic::CatchPanicLayer;

use crate::api::{
    actions, availability, deliveries, evaluate, events, handoffs, health, policy, reports, views,
};
use crate::serving::limits;
use crate::{ApiError, AppState, metrics, openapi};

/// One route of the API.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// HTTP method.
    pub method: &'static str,
    /// Path template, axum syntax (`{id}`).
    pub path: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The permission it needs; `None` for public routes.
    pub permission: Option<Permission>,
}

const fn ep(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    permission: Option<Permission>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        permission,
    }
}

use Permission::*;

/// Every route. Actions live under `/v1/handoffs/{id}/{action}`, one entry each.
pub const ENDPOINTS: &[Endpoint] = &[
    ep("GET", "/healthz", "liveness: the process answers", None),
    ep("GET", "/readyz", "readiness: the database answers", None),
    ep("GET", "/openapi.json", "this API as OpenAPI 3.1", None),
    ep("GET", "/docs", "API docs page (works offline)", None),
    ep(
        "POST",
        "/v1/handoffs",
        "create a handoff (Idempotency-Key supported)",
        Some(Create),
    ),
    ep(
        "GET",
        "/v1/handoffs",
        "list handoffs: state, owner_group, impact, reason, assignee, workflow, sort=age|created, limit, cursor",
        Some(Read),
    ),
    ep(
        "GET",
        "/v1/handoffs/{id}",
        "a handoff with its events",
        Some(Read),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/claim",
        "claim: pending → in_progress; returns a claim token",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/release",
        "release: in_progress → pending (claim_token)",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/request-info",
        "request info: in_progress → waiting (claim_token, question)",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/provide-info",
        "provide info: waiting → in_progress (info)",
        Some(ProvideInfo),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/notes",
        "add a note (text, visibility internal|customer)",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/reassign",
        "reassign to another owner group (owner_group, reason?)",
        Some(Reassign),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/escalate",
        "escalate, optionally to another owner group (reason, owner_group?)",
        Some(Reassign),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/resolve",
        "resolve with a closure receipt (claim_token, resolution, resolution_reason, changes?, customer_note?, internal_note?)",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/execution",
        "report execution of the decision (outcome executed|failed, detail?)",
        Some(ReportExecution),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/close",
        "close: resolved → closed",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/reopen",
        "reopen: resolved|closed → pending (reason)",
        Some(Work),
    ),
    ep(
        "POST",
        "/v1/evaluate",
        "evaluate an agent's signal: proceed, handoff or review_later; create: true creates the handoff (idempotent per conversation and turn)",
        Some(Create),
    ),
    ep(
        "GET",
        "/v1/policy",
        "the active policy, its version, and every kept version",
        Some(Views),
    ),
    ep(
        "PUT",
        "/v1/policy",
        "replace the active policy if it checks clean (text)",
        Some(Admin),
    ),
    ep(
        "POST",
        "/v1/handoffs/{id}/provide-context",
        "send the payload fields a needs_context handoff misses: needs_context → pending (payload)",
        Some(ProvideInfo),
    ),
    ep(
        "GET",
        "/v1/views/oldest",
        "open handoffs, oldest first (limit)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/views/ownerless",
        "pending unassigned handoffs, oldest first (limit)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/views/aging",
        "open handoffs by customer impact × age bucket",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/views/reasons",
        "handoffs per reason over a window vs the previous one (window_hours)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/reports/summary",
        "summary report: volume, time to accept/resolve (mean, p50, p90; wall and working time), SLA attainment, rework, waiting cycles, ping-pong, reassignments, false positives, reviewer load (from, to, by=workflow|impact|reason|owner_group|assignee|line)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/reports/weekly",
        "weekly report: top three handoff reasons vs the week before, oldest open and ownerless items, reviewer load (to)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/events",
        "the global event feed after a cursor (after, limit)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/events/stream",
        "live event feed as server-sent events (after or Last-Event-ID)",
        Some(Views),
    ),
    ep(
        "GET",
        "/v1/deliveries",
        "outbox deliveries, newest first; the dead-letter list is state=dead (state, limit)",
        Some(Admin),
    ),
    ep(
        "POST",
        "/v1/deliveries/{id}/redeliver",
        "queue a dead or delivered delivery again (and enable its channel if a 410 disabled it)",
        Some(Admin),
    ),
    ep(
        "PUT",
        "/v1/me/availability",
        "set whether the assigner may give the caller items (available); only reviewer tokens are assigned",
        Some(Work),
    ),
    ep(
        "GET",
        "/v1/me/availability",
        "whether the assigner may give the caller items",
        Some(Work),
    ),
];

/// The API's router over `state`; every answer is counted in
/// [`metrics::HTTP_REQUESTS`] under its route template.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .route("/healthz", get(health::get_health))
        .route("/readyz", get(health::get_ready))
        .route("/openapi.json", get(openapi::get_openapi))
        .route("/docs", get(openapi::get_docs))
        .route(
            "/v1/handoffs",
            post(handoffs::create_handoff).get(handoffs::list_handoffs),
        )
        .route("/v1/handoffs/{id}", get(handoffs::get_handoff))
        .route("/v1/handoffs/{id}/{action}", post(actions::act_on_handoff))
        .route("/v1/evaluate", post(evaluate::evaluate_signal))
        .route(
            "/v1/policy",
            get(policy::get_policy).put(policy::put_policy),
        )
        .route("/v1/views/oldest", get(views::view_oldest))
        .route("/v1/views/ownerless", get(views::view_ownerless))
        .route("/v1/views/aging", get(views::view_aging))
        .route("/v1/views/reasons", get(views::view_reasons))
        .route("/v1/reports/summary", get(reports::report_summary))
        .route("/v1/reports/weekly", get(reports::report_weekly))
        .route("/v1/events", get(events::list_events))
        .route("/v1/events/stream", get(events::stream_events))
        .route("/v1/deliveries", get(deliveries::list_deliveries))
        .route("/v1/deliveries/{id}/redeliver", post(deliveries::redeliver))
        .route(
            "/v1/me/availability",
            put(availability::put_availability).get(availability::get_availability),
        )
        .fallback(|| async { ApiError::new("not_found", "no such route; see /docs") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                "method_not_allowed",
                "this route does not take that method; see /docs",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a handler panicked");
            axum::response::IntoResponse::into_response(ApiError::new("internal", "internal error"))
        }))
        .layer(axum::middleware::from_fn(
            crate::extract::limit_request_head,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::limit_time,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_requests,
        ))
        .layer(axum::middleware::from_fn(limits::log_request))
        .with_state(state)
}
