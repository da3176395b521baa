//! `GET /v1/policy` (the active policy and its version, earlier versions) and
//! `PUT /v1/policy` (activate a new version for every instance, without
//! downtime, only when the text checks clean).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_core::Permission;
use serde::Deserialize;
use serde_json::json;

use super::view::{PolicyActivated, PolicyActivation, PolicyVersion, PolicyView};
use crate::openapi::ErrorBody;

use crate::extract::{ApiJson, Caller};
use crate::policy::{Activation, ReloadError};
use crate::{ApiError, AppState};

/// `GET /v1/policy`: version, text, when and by whom it was activated, and
/// every version kept for replay.
#[utoipa::path(
    get,
    path = "/v1/policy",
    tag = "policy",
    responses((status = 200, description = "the active policy", body = PolicyView))
)]
pub async fn get_policy(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Response, ApiError> {
    caller.require(Permission::Views)?;
    let loaded = state.policy.current();
    let versions: Vec<_> = state
        .store
        .policy_versions()
        .await?
        .into_iter()
        .map(|(version, _, first_loaded_at)| PolicyVersion {
            version,
            first_loaded_at,
        })
        .collect();
    // When and by whom this version was activated, once the database says
    // it is the active one (the watcher catches up within a second).
    let activated = state
        .store
        .active_policy()
        .await?
        .filter(|a| a.version == loaded.policy.version)
        .map(|a| PolicyActivation {
            at: a.activated_at,
            by: a.activated_by,
        });
    Ok(Json(PolicyView {
        version: &loaded.policy.version,
        text: &loaded.text,
        workflows: loaded.policy.workflow_names(),
        impacts: loaded.policy.impact_names(),
        handoff_reasons: loaded.policy.handoff_reasons(),
        versions,
        activated,
    })
    .into_response())
}

/// Body of `PUT /v1/policy`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPolicy {
    /// The whole policy file (TOML). Contracts must be inline: the API reads no files.
    text: String,
}

/// `PUT /v1/policy`: activates the text, for every instance on the
/// database, if it builds clean (a `policy_activated` event names the
/// caller); otherwise 422 with every problem in `details` and the old
/// policy stays.
#[utoipa::path(
    put,
    path = "/v1/policy",
    tag = "policy",
    request_body = PutPolicy,
    responses(
        (status = 200, description = "the new policy is active on every instance within a second", body = PolicyActivated),
        (status = 422, description = "the policy has errors (each with line, rule and message in `details`); the active policy is unchanged", body = ErrorBody),
    )
)]
pub async fn put_policy(
    State(state): State<AppState>,
    caller: Caller,
    body: ApiJson<PutPolicy>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Admin)?;
    let text = body.value.text;
    let no_files = |path: &str| {
        Err(format!(
            "{path}: contracts sent over the API must be inline tables"
        ))
    };
    let who = Activation {
        actor: caller.name.clone(),
        source: "api".into(),
        now: state.clock.now(),
    };
    match state
        .policy
        .activate(state.store.as_ref(), &text, &no_files, who)
        .await
    {
        Ok((loaded, activated)) => {
            tracing::info!(version = %loaded.policy.version, by = %caller.name, "policy activated");
            Ok(Json(PolicyActivated {
                version: &loaded.policy.version,
                previous: activated.previous,
                changed: activated.event.is_some(),
            })
            .into_response())
        }
        Err(ReloadError::Store(e)) => Err(e.into()),
        Err(ReloadError::Invalid(errors)) => {
            let details: Vec<_> = errors
                .iter()
                .map(|e| json!({ "line": e.line, "rule": e.rule, "message": e.message }))
                .collect();
            Err(ApiError::invalid(
                "text",
                format!(
                    "the policy has {} error(s); the active policy is unchanged",
                    errors.len()
                ),
            )
            .with_details(json!(details)))
        }
    }
}
