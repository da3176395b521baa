//! Leader views: oldest, ownerless, aging by impact × age bucket, reason trends.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_core::views::{AGE_BUCKETS, aging, reason_trends};
use baton_core::{LifecycleState, Permission};
use baton_store::{HandoffQuery, Sort};
use jiff::SignedDuration;
use serde::Deserialize;

use super::view::{AgingView, HandoffList, HandoffView, ReasonsView};
use crate::extract::{ApiQuery, Caller};
use crate::{ApiError, AppState};

/// `?limit=` of the list views (1 to 500, default 20).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    /// How many handoffs, 1 to 500 (default 20).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

const OPEN: [LifecycleState; 3] = [
    LifecycleState::Pending,
    LifecycleState::InProgress,
    LifecycleState::Waiting,
];

async fn list_view(
    state: &AppState,
    caller: &Caller,
    limit: Option<u32>,
    query: HandoffQuery,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let limit = limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(
            ApiError::new("invalid_query", "limit must be from 1 to 500").with_field("limit"),
        );
    }
    let page = state
        .store
        .list_handoffs(&HandoffQuery {
            limit,
            sort: Sort::Age,
            ..query
        })
        .await?;
    let now = state.clock.now();
    let items: Vec<_> = page
        .items
        .iter()
        .map(|h| HandoffView::new(h, now))
        .collect();
    Ok(Json(HandoffList { items }).into_response())
}

/// `GET /v1/views/oldest`: open handoffs, oldest first.
#[utoipa::path(
    get,
    path = "/v1/views/oldest",
    tag = "views",
    params(LimitParams),
    responses((status = 200, description = "open handoffs, oldest first", body = HandoffList))
)]
pub async fn view_oldest(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<LimitParams>,
) -> Result<Response, ApiError> {
    let query = HandoffQuery {
        states: OPEN.to_vec(),
        ..Default::default()
    };
    list_view(&state, &caller, p.limit, query).await
}

/// `GET /v1/views/ownerless`: pending, unassigned handoffs, oldest first.
#[utoipa::path(
    get,
    path = "/v1/views/ownerless",
    tag = "views",
    params(LimitParams),
    responses((status = 200, description = "pending unassigned handoffs, oldest first", body = HandoffList))
)]
pub async fn view_ownerless(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<LimitParams>,
) -> Result<Response, ApiError> {
    let query = HandoffQuery {
        states: vec![LifecycleState::Pending],
        assignee: Some(None),
        ..Default::default()
    };
    list_view(&state, &caller, p.limit, query).await
}

/// `GET /v1/views/aging`: open handoffs counted by customer impact × age bucket.
#[utoipa::path(
    get,
    path = "/v1/views/aging",
    tag = "views",
    responses((status = 200, description = "open handoffs by impact and age", body = AgingView))
)]
pub async fn view_aging(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let items = state.store.open_ages().await?;
    let now = state.clock.now();
    let buckets: Vec<&str> = AGE_BUCKETS.iter().map(|(name, _)| *name).collect();
    Ok(Json(AgingView {
        at: now,
        buckets,
        rows: aging(&items, now),
    })
    .into_response())
}

/// `?window_hours=` of the reasons view (1 to 8784, default 168 = 7 days).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowParams {
    /// The window in hours, 1 to 8784 (default 168 = 7 days).
    #[param(minimum = 1, maximum = 8784)]
    window_hours: Option<i64>,
}

/// `GET /v1/views/reasons`: handoffs per reason in the window ending now,
/// against the window before it.
#[utoipa::path(
    get,
    path = "/v1/views/reasons",
    tag = "views",
    params(WindowParams),
    responses((status = 200, description = "handoffs per reason, this window and the one before", body = ReasonsView))
)]
pub async fn view_reasons(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<WindowParams>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let hours = p.window_hours.unwrap_or(168);
    if !(1..=8784).contains(&hours) {
        return Err(
            ApiError::new("invalid_query", "window_hours must be from 1 to 8784")
                .with_field("window_hours"),
        );
    }
    let now = state.clock.now();
    let window = SignedDuration::from_hours(hours);
    let start = now
        .saturating_sub(window)
        .map_err(|_| ApiError::new("invalid_query", "window out of range"))?;
    let before = start
        .saturating_sub(window)
        .map_err(|_| ApiError::new("invalid_query", "window out of range"))?;
    // The window includes `now`: a handoff created this instant counts.
    let end = now
        .saturating_add(SignedDuration::from_micros(1))
        .unwrap_or(now);
    let current = state.store.reason_counts(start, end).await?;
    let previous = state.store.reason_counts(before, start).await?;
    Ok(Json(ReasonsView {
        from: start,
        to: now,
        previous_from: before,
        reasons: reason_trends(&current, &previous),
    })
    .into_response())
}
