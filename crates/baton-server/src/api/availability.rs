//! `/v1/me/availability`: a reviewer says whether the assigner may give
//! them items (docs/assignment.md).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_core::Permission;
use serde::{Deserialize, Serialize};

use crate::extract::{ApiJson, Caller};
use crate::{ApiError, AppState};

/// Body of `PUT /v1/me/availability`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutAvailability {
    /// Whether the assigner may give the caller items.
    available: bool,
}

/// The caller's availability.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AvailabilityView {
    /// The caller's token name.
    pub reviewer: String,
    /// Whether the assigner may give them items.
    pub available: bool,
}

/// `PUT /v1/me/availability`: the caller (a reviewer, or anyone who works
/// items) becomes available for automatic assignment, or stops being.
/// Only reviewer tokens are ever assigned items.
#[utoipa::path(
    put,
    path = "/v1/me/availability",
    tag = "assignment",
    request_body = PutAvailability,
    responses((status = 200, description = "the caller's availability", body = AvailabilityView))
)]
pub async fn put_availability(
    State(state): State<AppState>,
    caller: Caller,
    body: ApiJson<PutAvailability>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Work)?;
    let available = body.value.available;
    state
        .store
        .set_availability(&caller.name, available, state.clock.now())
        .await?;
    Ok(Json(AvailabilityView {
        reviewer: caller.name,
        available,
    })
    .into_response())
}

/// `GET /v1/me/availability`: the caller's availability (false until set).
#[utoipa::path(
    get,
    path = "/v1/me/availability",
    tag = "assignment",
    responses((status = 200, description = "the caller's availability", body = AvailabilityView))
)]
pub async fn get_availability(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::Work)?;
    let available = state.store.is_available(&caller.name).await?;
    Ok(Json(AvailabilityView {
        reviewer: caller.name,
        available,
    })
    .into_response())
}
