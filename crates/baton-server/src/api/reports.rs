//! Reports: `GET /v1/reports/summary` and `GET /v1/reports/weekly`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_core::Permission;
use baton_core::report::{GroupBy, summarize, weekly};
use serde::Deserialize;

use crate::extract::{ApiQuery, Caller};
use crate::reports::{fold_histories, parse_bound, working_time};
use crate::{ApiError, AppState};

/// `?from&to&by=` of the summary.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Count handoffs created from then on: RFC 3339 or a date (midnight UTC).
    #[param(schema_with = crate::openapi::time_bound)]
    from: Option<String>,
    /// Count handoffs created before then: RFC 3339 or a date (midnight UTC).
    #[param(schema_with = crate::openapi::time_bound)]
    to: Option<String>,
    /// One row per value of this (default `owner_group`).
    #[param(value_type = Option<GroupBy>)]
    by: Option<String>,
}

/// `?to=` of the weekly report.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeeklyParams {
    /// End of the week reported (default now): RFC 3339 or a date (midnight UTC).
    #[param(schema_with = crate::openapi::time_bound)]
    to: Option<String>,
}

fn bound(field: &str, text: Option<&str>) -> Result<Option<jiff::Timestamp>, ApiError> {
    text.map(|t| parse_bound(field, t))
        .transpose()
        .map_err(|m| ApiError::new("invalid_query", m).with_field(field))
}

/// `GET /v1/reports/summary`: volume, MTTA/MTTR (mean, p50, p90; wall clock
/// and working time), SLA attainment, rework, waiting cycles, ping-pong,
/// reassignments, false positives and reviewer load, per `by`.
#[utoipa::path(
    get,
    path = "/v1/reports/summary",
    tag = "reports",
    params(SummaryParams),
    responses((status = 200, description = "the summary", body = baton_core::report::Summary))
)]
pub async fn report_summary(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<SummaryParams>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let by = match p.by.as_deref() {
        None => GroupBy::OwnerGroup,
        Some(b) => GroupBy::parse(b).ok_or_else(|| {
            let all: Vec<&str> = GroupBy::ALL.iter().map(|g| g.as_str()).collect();
            ApiError::new(
                "invalid_query",
                format!("by: use one of {}", all.join(", ")),
            )
            .with_field("by")
        })?,
    };
    let from = bound("from", p.from.as_deref())?;
    let to = bound("to", p.to.as_deref())?;
    let _turn = turn(&state).await?;
    let policy = state.policy.current();
    let now = state.clock.now();
    // Attainment by the live clocks under the active policy (docs/sla-clocks.md).
    let clocks = Some(policy.policy.clone());
    let summary = fold_histories(state.store.as_ref(), clocks, move |histories| {
        let working = working_time(&policy.policy);
        let items = histories.items.iter().map(|(_, h)| h);
        summarize(items, from, to, by, now, &working)
    })
    .await?;
    Ok(Json(summary).into_response())
}

/// `GET /v1/reports/weekly`: the top three handoff reasons against the week
/// before, the oldest open and ownerless items, reviewer load; for the seven
/// days before `to` (default now).
#[utoipa::path(
    get,
    path = "/v1/reports/weekly",
    tag = "reports",
    params(WeeklyParams),
    responses((status = 200, description = "the weekly report", body = baton_core::report::Weekly))
)]
pub async fn report_weekly(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<WeeklyParams>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let to = bound("to", p.to.as_deref())?.unwrap_or_else(|| state.clock.now());
    let _turn = turn(&state).await?;
    let report = fold_histories(state.store.as_ref(), None, move |histories| {
        weekly(&histories.items, to)
    })
    .await?;
    Ok(Json(report).into_response())
}

/// Waits for one of the `report_workers` turns, so folds never take every
/// core from the request path; the wait counts against `request_timeout`.
async fn turn(state: &AppState) -> Result<tokio::sync::SemaphorePermit<'_>, ApiError> {
    state
        .reports
        .acquire()
        .await
        .map_err(|_| ApiError::new("unavailable", "the server is stopping; retry later"))
}
