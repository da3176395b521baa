//! Per-request middleware: the request timeout and the request log line.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::{ApiError, AppState};

/// The header carrying a request's id, taken from the client when it is
/// short and printable, otherwise made up; echoed on the response.
pub const REQUEST_ID: &str = "x-request-id";

/// Answers 503 `timeout` when a handler has not produced its response head
/// within `request_timeout`. A streamed body (server-sent events) is not
/// cut: the timeout ends when its head is ready.
pub(crate) async fn limit_time(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            "timeout",
            format!(
                "the request took longer than {} ms (request_timeout); retry later",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

/// Logs one line per request at info: method, route template (or the path
/// when no route matched), status, latency and request id.
pub(crate) async fn log_request(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = match request.extensions().get::<MatchedPath>() {
        Some(path) => path.as_str().to_owned(),
        None => request.uri().path().chars().take(200).collect(),
    };
    let id = request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| {
            v.len() <= 64
                && v.to_str()
                    .is_ok_and(|s| s.bytes().all(|b| b.is_ascii_graphic()))
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_str(&uuid::Uuid::now_v7().simple().to_string())
                .unwrap_or(HeaderValue::from_static("-"))
        });
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let mut response = next.run(request).await;
    tracing::info!(
        target: "baton::http",
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = id.to_str().unwrap_or("-"),
        "request"
    );
    response.headers_mut().insert(REQUEST_ID, id);
    response
}
