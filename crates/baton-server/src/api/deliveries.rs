//! The outbox as people see it: deliveries by state (the dead-letter list is
//! `?state=dead`) and redelivery of a dead or delivered one.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_core::Permission;
use baton_store::{Delivery, DeliveryState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use axum::extract::{FromRequest, Request};

use super::actions::Empty;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::openapi::IdParam;
use crate::{ApiError, AppState};

/// `?state=&limit=` of `GET /v1/deliveries`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// `pending`, `delivered` or `dead` (the dead-letter list); all when absent.
    #[param(pattern = "^(pending|delivered|dead)$")]
    state: Option<String>,
    /// How many, newest first, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// One outbox delivery.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// Its id: the `webhook-id`, the same on every attempt.
    pub id: Uuid,
    /// The policy channel it goes to.
    pub channel: String,
    /// The handoff it is about.
    pub handoff_id: Uuid,
    /// What it tells, e.g. `breach`.
    pub event: String,
    /// The fan-out role it is for, if any.
    pub role: Option<String>,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (while pending).
    #[schema(value_type = String, format = DateTime)]
    pub next_at: jiff::Timestamp,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was written.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: jiff::Timestamp,
    /// The message sent.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            channel: d.channel,
            handoff_id: d.handoff_id,
            event: d.event,
            role: d.role,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_at: d.next_at,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            payload: d.payload,
        }
    }
}

/// A list of deliveries.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub items: Vec<DeliveryView>,
}

/// `GET /v1/deliveries`: outbox deliveries, newest first.
#[utoipa::path(
    get,
    path = "/v1/deliveries",
    tag = "deliveries",
    params(DeliveryParams),
    responses((status = 200, description = "deliveries, newest first", body = DeliveryList))
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(p): ApiQuery<DeliveryParams>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Admin)?;
    let wanted = match p.state.as_deref() {
        None => None,
        Some(name) => Some(DeliveryState::parse(name).ok_or_else(|| {
            ApiError::new(
                "invalid_query",
                format!("unknown state {name:?}; use pending, delivered or dead"),
            )
            .with_field("state")
        })?),
    };
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(
            ApiError::new("invalid_query", "limit must be from 1 to 500").with_field("limit"),
        );
    }
    let items = state.store.list_deliveries(wanted, limit).await?;
    Ok(Json(DeliveryList {
        items: items.into_iter().map(DeliveryView::from).collect(),
    })
    .into_response())
}

/// `POST /v1/deliveries/{id}/redeliver`: queues a dead or delivered delivery
/// again, attempts from zero, due now.
#[utoipa::path(
    post,
    path = "/v1/deliveries/{id}/redeliver",
    tag = "deliveries",
    params(IdParam),
    request_body(content = Empty, description = "nothing: an empty object or no body"),
    responses(
        (status = 200, description = "the delivery, pending again", body = DeliveryView),
        (status = 409, description = "the delivery is still pending", body = crate::openapi::ErrorBody),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    request: Request,
) -> Result<Response, ApiError> {
    caller.require(Permission::Admin)?;
    let body: ApiJson<serde_json::Value> = ApiJson::from_request(request, &state).await?;
    crate::extract::parse_json::<Empty>(if body.raw.is_empty() {
        b"{}"
    } else {
        &body.raw
    })?;
    let missing = || ApiError::new("not_found", format!("no delivery with id {id}"));
    let uuid = Uuid::parse_str(&id).map_err(|_| missing())?;
    let delivery = state.store.get_delivery(uuid).await?.ok_or_else(missing)?;
    if let Some(channel) = state
        .store
        .disabled_channels()
        .await?
        .iter()
        .find(|c| c.0 == delivery.channel)
    {
        // A redelivery is the operator saying the receiver is back.
        state.store.enable_channel(&channel.0).await?;
    }
    if !state.store.redeliver(uuid, state.clock.now()).await? {
        return Err(ApiError::new(
            "conflict",
            format!("delivery {id} is still pending: it will be attempted on its schedule"),
        ));
    }
    let delivery = state.store.get_delivery(uuid).await?.ok_or_else(missing)?;
    Ok(Json(DeliveryView::from(delivery)).into_response())
}
