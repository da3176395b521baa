//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::view::Status;
use crate::openapi::ErrorBody;

use crate::AppState;

/// `GET /healthz`: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "probes",
    responses((status = 200, description = "the process answers", body = Status))
)]
pub async fn get_health() -> Response {
    Json(Status { status: "ok" }).into_response()
}

/// `GET /readyz`: the database answers; 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    responses(
        (status = 200, description = "the database answers", body = Status),
        (status = 503, description = "the database does not answer", body = ErrorBody),
    )
)]
pub async fn get_ready(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => Json(Status { status: "ready" }).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "error": { "code": "unavailable", "message": "the database is unreachable" } })),
            )
                .into_response()
        }
    }
}
