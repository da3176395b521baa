//! Create, read and list handoffs.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use baton_core::policy::contract::ContractViolation;
use baton_core::react::AdmitError;
use baton_core::{LifecycleState, NewHandoff, Permission};
use baton_store::{CreateHandoff, Cursor, HandoffQuery, Idempotency, Sort};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::view::{HandoffDetail, HandoffPage, HandoffView};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::openapi::{ErrorBody, IdParam};
use crate::{ApiError, AppState, LoadedPolicy};

/// Longest accepted `Idempotency-Key`, in bytes.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Header parameters of `POST /v1/handoffs`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // describes the header; `idempotency` reads it
pub struct CreateHeaders {
    /// Makes the create safe to retry: the same key with the same body
    /// answers the first result (200, `Idempotent-Replayed: true`); with
    /// another body, 422. Keys are scoped per token.
    // Visible ASCII, with spaces and tabs inside: what `HeaderValue::to_str` reads.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = r"^[!-~]([\t -~]*[!-~])?$"
    )]
    pub idempotency_key: Option<String>,
}

/// `POST /v1/handoffs`: 201 with the new handoff; 200 with the same handoff
/// when an `Idempotency-Key` is replayed with the same body; 422 when the
/// key comes with another body.
#[utoipa::path(
    post,
    path = "/v1/handoffs",
    tag = "handoffs",
    params(CreateHeaders),
    request_body = NewHandoff,
    responses(
        (status = 201, description = "created", body = HandoffView),
        (status = 200, description = "an Idempotency-Key replayed with the same body: the handoff created then",
            body = HandoffView, headers(("Idempotent-Replayed" = String, description = "`true`"))),
        (status = 409, description = "the handoff already exists", body = ErrorBody),
        (status = 422, description = "a field is invalid, an impact, reason, workflow or owner group is not declared, the payload misses the workflow's contract, or the Idempotency-Key came with another body", body = ErrorBody),
    )
)]
pub async fn create_handoff(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: ApiJson<NewHandoff>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Create)?;
    let new = body.value;
    let idempotency = idempotency(&headers, &caller, &body.raw)?;
    let now = state.clock.now();
    let loaded = state.policy.current();
    let created = create_with_policy(&state, &loaded, &caller, new, idempotency, now).await?;
    let status = if created.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut response = (status, Json(HandoffView::new(&created.handoff, now))).into_response();
    if created.replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

/// Validates `new` against `loaded` (the policy read once for the request) (declared reason and impact,
/// the workflow's payload contract), routes it unless the caller named an
/// owner group, computes its SLA deadlines and stores it.
///
/// # Errors
/// 422 naming the field (every contract violation in `details`), and the
/// store's errors.
pub async fn create_with_policy(
    state: &AppState,
    loaded: &LoadedPolicy,
    caller: &Caller,
    new: NewHandoff,
    idempotency: Option<Idempotency>,
    now: jiff::Timestamp,
) -> Result<baton_store::Created, ApiError> {
    let policy = &loaded.policy;
    if caller
        .workflow_scope()
        .is_some_and(|w| !w.contains(&new.workflow))
    {
        return Err(ApiError::forbidden(format!(
            "this token may not create handoffs in workflow {}",
            new.workflow
        ))
        .with_field("workflow"));
    }
    let admitted = baton_core::react::admit(new, Uuid::now_v7(), &caller.name, policy, now)
        .map_err(admit_error)?;
    let created = state
        .store
        .create_handoff(CreateHandoff {
            handoff: admitted.handoff,
            timers: admitted.timers,
            notifications: admitted.notifications,
            idempotency,
        })
        .await?;
    if !created.replayed {
        state.metrics.handoff_created(&created.handoff);
    }
    Ok(created)
}

/// 422 naming `owner_group`: it is not declared in the policy; lists the declared ones.
pub fn undeclared_group(policy: &baton_core::policy::Policy, group: &str) -> ApiError {
    admit_error(baton_core::react::undeclared_group(policy, group))
}

/// The 422 of an admission refusal, naming the field (and listing what is
/// declared, or every contract violation, in `details`).
pub fn admit_error(err: AdmitError) -> ApiError {
    match err {
        AdmitError::Invalid(e) => e.into(),
        AdmitError::Undeclared {
            field,
            message,
            declared,
        } => ApiError::invalid(field, message).with_details(json!({ "declared": declared })),
        AdmitError::Contract {
            workflow,
            violations,
        } => contract_error(&workflow, &violations),
    }
}

/// 422 naming the first contract violation, every one in `details`.
pub fn contract_error(workflow: &str, violations: &[ContractViolation]) -> ApiError {
    let details: Vec<_> = violations
        .iter()
        .map(|v| json!({ "field": v.field, "message": v.message }))
        .collect();
    let (field, message) = violations
        .first()
        .map(|v| (v.field.clone(), v.message.clone()))
        .unwrap_or_else(|| ("context.payload".into(), "incomplete".into()));
    ApiError::invalid(
        field,
        format!("the payload misses the {workflow} workflow's contract: {message}"),
    )
    .with_details(json!(details))
}

fn idempotency(
    headers: &HeaderMap,
    caller: &Caller,
    raw: &[u8],
) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY)
        .ok_or_else(|| {
            ApiError::new(
                "bad_request",
                format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ascii characters"
                ),
            )
            .with_field("Idempotency-Key")
        })?;
    Ok(Some(Idempotency {
        // Keys are scoped by token id: two tokens cannot collide, whatever
        // their names hold.
        key: format!("{}:{key}", caller.id),
        body_hash: hex::encode(Sha256::digest(raw)),
    }))
}

/// Parses a path id; anything but a UUID is simply not found.
pub fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::no_handoff(id))
}

/// `GET /v1/handoffs/{id}`: the handoff and its events.
#[utoipa::path(
    get,
    path = "/v1/handoffs/{id}",
    tag = "handoffs",
    params(IdParam),
    responses((status = 200, description = "the handoff and its events", body = HandoffDetail))
)]
pub async fn get_handoff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let uuid = parse_id(&id)?;
    let handoff = state
        .store
        .get_handoff(uuid)
        .await?
        .filter(|h| caller.can_see(h.owner_group.as_str(), h.workflow.as_str()))
        .ok_or_else(|| ApiError::no_handoff(&id))?;
    let events = state.store.handoff_events(uuid).await?;
    let view = HandoffView::new(&handoff, state.clock.now());
    Ok(Json(HandoffDetail {
        view,
        events: &events,
    })
    .into_response())
}

/// Query parameters of `GET /v1/handoffs`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Lifecycle states, comma-separated (empty: any).
    #[param(schema_with = crate::openapi::state_list)]
    pub state: Option<String>,
    /// Owner group.
    pub owner_group: Option<String>,
    /// Customer impact.
    pub impact: Option<String>,
    /// Handoff reason.
    pub reason: Option<String>,
    /// Assignee, or `none` for unassigned.
    pub assignee: Option<String>,
    /// Workflow.
    pub workflow: Option<String>,
    /// `age` (oldest first) or `created` (newest first, the default).
    #[param(value_type = Option<SortParam>)]
    pub sort: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^(|-?[0-9]{1,18}\.[0-9a-f]{32})$")]
    pub cursor: Option<String>,
}

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 500;

impl ListParams {
    /// Validates into a store query, naming the bad parameter.
    pub fn into_query(self, caller: &Caller) -> Result<HandoffQuery, ApiError> {
        let bad = |field: &str, message: String| {
            ApiError::new("invalid_query", message).with_field(field)
        };
        let states = match self.state.as_deref() {
            None | Some("") => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|s| {
                    LifecycleState::parse(s.trim()).ok_or_else(|| {
                        bad("state", format!("unknown state {s:?}; use pending, in_progress, waiting, resolved or closed"))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let sort = match self.sort.as_deref() {
            None | Some("created") => Sort::Created,
            Some("age") => Sort::Age,
            Some(other) => {
                return Err(bad(
                    "sort",
                    format!("unknown sort {other:?}; use age or created"),
                ));
            }
        };
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(bad("limit", format!("limit must be from 1 to {MAX_LIMIT}")));
        }
        let cursor = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| {
                bad(
                    "cursor",
                    "unknown cursor; pass next_cursor from the previous page".into(),
                )
            })?),
        };
        let assignee = self
            .assignee
            .map(|a| if a == "none" { None } else { Some(a) });
        Ok(HandoffQuery {
            states,
            owner_group: self.owner_group,
            impact: self.impact,
            reason: self.reason,
            assignee,
            workflow: self.workflow,
            groups_in: caller.group_scope(),
            workflows_in: caller.workflow_scope(),
            sort,
            limit,
            cursor,
        })
    }
}

/// The orders of `GET /v1/handoffs`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // describes the `sort` parameter's values
pub enum SortParam {
    /// Oldest first.
    Age,
    /// Newest first.
    Created,
}

/// `GET /v1/handoffs`: a page of handoffs, filtered, with `next_cursor`.
#[utoipa::path(
    get,
    path = "/v1/handoffs",
    tag = "handoffs",
    params(ListParams),
    responses((status = 200, description = "a page of handoffs", body = HandoffPage))
)]
pub async fn list_handoffs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Read)?;
    let query = params.into_query(&caller)?;
    let page = state.store.list_handoffs(&query).await?;
    let now = state.clock.now();
    let items: Vec<_> = page
        .items
        .iter()
        .map(|h| HandoffView::new(h, now))
        .collect();
    Ok(Json(HandoffPage {
        items,
        next_cursor: page.next_cursor.map(|c| c.encode()),
    })
    .into_response())
}
