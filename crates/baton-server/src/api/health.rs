//! Liveness and readiness probes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baton_store::WriterHealth;
use serde_json::json;

use super::view::Status;
use crate::openapi::ErrorBody;

use crate::AppState;

/// A write batch running this long means the writer is stuck (a batch of
/// [`baton_store::MAX_BATCH`] requests normally commits in milliseconds;
/// SQLite's busy timeout and PostgreSQL's acquire timeout are 10 s).
pub const WRITER_STUCK_AFTER: Duration = Duration::from_secs(15);

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

/// `GET /readyz`: the writer commits and the database answers; 503
/// otherwise. The writer check reads two atomics (no IO): it fails while
/// the writer backs off after a failed commit, when one batch has run for
/// [`WRITER_STUCK_AFTER`], or when the writer task has stopped.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "probes",
    responses(
        (status = 200, description = "the writer commits and the database answers", body = Status),
        (status = 503, description = "the writer is backing off, stuck or stopped, or the database does not answer", body = ErrorBody),
    )
)]
pub async fn get_ready(State(state): State<AppState>) -> Response {
    let problem = match state.store.writer().health(WRITER_STUCK_AFTER) {
        WriterHealth::Ready => match state.store.ping().await {
            Ok(()) => None,
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                Some("the database is unreachable".to_owned())
            }
        },
        WriterHealth::Stuck(running) => Some(format!(
            "the writer has been inside one batch for {} s",
            running.as_secs()
        )),
        WriterHealth::Failing => {
            Some("the writer cannot commit; it is backing off and retrying".to_owned())
        }
        WriterHealth::Stopped => Some("the writer has stopped".to_owned()),
    };
    match problem {
        None => Json(Status { status: "ready" }).into_response(),
        Some(message) => {
            tracing::warn!(%message, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": { "code": "unavailable", "message": message } })),
            )
                .into_response()
        }
    }
}
