//! `POST /v1/handoffs/{id}/{action}`: claim, release, request-info,
//! provide-info, notes, reassign, escalate, resolve, execution, close, reopen.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::response::{IntoResponse, Response};
use baton_core::{Action, ExecutionOutcome, NoteVisibility, Permission, ReceiptInput, Role};
use baton_store::ActOn;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::handoffs::parse_id;
use super::view::{ActionResult, HandoffView};
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::{ApiError, AppState};

/// The action names of the URL space, in lifecycle order.
pub const ACTIONS: [&str; 12] = [
    "claim",
    "release",
    "request-info",
    "provide-info",
    "notes",
    "reassign",
    "escalate",
    "resolve",
    "execution",
    "close",
    "reopen",
    "provide-context",
];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WithClaim {
    claim_token: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RequestInfoBody {
    claim_token: Option<String>,
    #[schema(min_length = 1, max_length = 16384, pattern = r"\S")]
    question: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProvideInfoBody {
    #[schema(min_length = 1, max_length = 16384, pattern = r"\S")]
    info: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    #[schema(min_length = 1, max_length = 16384, pattern = r"\S")]
    text: String,
    #[serde(default)]
    visibility: NoteVisibility,
    /// With a customer-safe note: when the customer was promised the next
    /// update (RFC 3339, in the future).
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(default)]
    next_update_at: Option<jiff::Timestamp>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReassignBody {
    #[schema(value_type = baton_core::Label)]
    owner_group: String,
    #[schema(max_length = 16384)]
    reason: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EscalateBody {
    #[schema(value_type = Option<baton_core::Label>)]
    owner_group: Option<String>,
    #[schema(min_length = 1, max_length = 16384, pattern = r"\S")]
    reason: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResolveBody {
    claim_token: Option<String>,
    #[serde(flatten)]
    receipt: ReceiptInput,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExecutionBody {
    outcome: ExecutionOutcome,
    #[schema(max_length = 16384)]
    detail: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProvideContextBody {
    #[schema(value_type = Object)]
    payload: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    #[schema(min_length = 1, max_length = 16384, pattern = r"\S")]
    reason: String,
}

/// An action parsed from its URL name and body.
type Parsed = (Action, Option<String>, Permission);

/// Parses the body of `name` into an action, its claim token and the
/// permission it needs; `None` for an unknown action.
fn parse_action(name: &str, body: &[u8], caller: &Caller) -> Option<Result<Parsed, ApiError>> {
    fn json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
        crate::extract::parse_json(if body.is_empty() { b"{}" } else { body })
    }
    let parsed = (|| {
        Ok(match name {
            "claim" => {
                json::<Empty>(body)?;
                (
                    Action::Claim {
                        assignee: caller.name.clone(),
                    },
                    None,
                    Permission::Work,
                )
            }
            "release" => (
                Action::Release,
                json::<WithClaim>(body)?.claim_token,
                Permission::Work,
            ),
            "request-info" => {
                let b: RequestInfoBody = json(body)?;
                (
                    Action::RequestInfo {
                        question: b.question,
                    },
                    b.claim_token,
                    Permission::Work,
                )
            }
            "provide-info" => {
                let b: ProvideInfoBody = json(body)?;
                (
                    Action::ProvideInfo { info: b.info },
                    None,
                    Permission::ProvideInfo,
                )
            }
            "notes" => {
                let b: NoteBody = json(body)?;
                (
                    Action::AddNote {
                        text: b.text,
                        visibility: b.visibility,
                        next_update_at: b.next_update_at,
                    },
                    None,
                    Permission::Work,
                )
            }
            "reassign" => {
                let b: ReassignBody = json(body)?;
                (
                    Action::Reassign {
                        owner_group: b.owner_group,
                        reason: b.reason,
                    },
                    None,
                    Permission::Reassign,
                )
            }
            "escalate" => {
                let b: EscalateBody = json(body)?;
                (
                    Action::Escalate {
                        owner_group: b.owner_group,
                        reason: b.reason,
                    },
                    None,
                    Permission::Reassign,
                )
            }
            "resolve" => {
                let b: ResolveBody = json(body)?;
                (Action::Resolve(b.receipt), b.claim_token, Permission::Work)
            }
            "execution" => {
                let b: ExecutionBody = json(body)?;
                (
                    Action::ReportExecution {
                        outcome: b.outcome,
                        detail: b.detail,
                    },
                    None,
                    Permission::ReportExecution,
                )
            }
            "close" => {
                json::<Empty>(body)?;
                (Action::Close, None, Permission::Work)
            }
            "reopen" => (
                Action::Reopen {
                    reason: json::<ReasonBody>(body)?.reason,
                },
                None,
                Permission::Work,
            ),
            "provide-context" => (
                Action::ProvideContext {
                    payload: json::<ProvideContextBody>(body)?.payload,
                },
                None,
                Permission::ProvideInfo,
            ),
            _ => return Err(None),
        })
    })();
    match parsed {
        Ok(ok) => Some(Ok(ok)),
        Err(None) => None,
        Err(Some(err)) => Some(Err(err)),
    }
}

/// `POST /v1/handoffs/{id}/{action}`: applies the action and returns the
/// handoff, the event and (after a claim) the claim token.
pub async fn act_on_handoff(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, name)): ApiPath<(String, String)>,
    request: Request,
) -> Result<Response, ApiError> {
    let unknown = || {
        ApiError::new(
            "not_found",
            format!("unknown action {name:?}; use one of {}", ACTIONS.join(", ")),
        )
    };
    if !ACTIONS.contains(&name.as_str()) {
        return Err(unknown());
    }
    let body: ApiJson<serde_json::Value> = ApiJson::from_request(request, &state).await?;
    let raw: Bytes = body.raw;
    let (action, claim_token, permission) =
        parse_action(&name, &raw, &caller).ok_or_else(unknown)??;
    caller.require(permission)?;
    if let Some(token) = &claim_token {
        baton_core::limits::check("claim_token", token)?;
    }
    let uuid = parse_id(&id)?;
    if caller.role == Role::Agent {
        // Agents act only within their workflows; the workflow never changes.
        let handoff = state.store.get_handoff(uuid).await?;
        if !handoff.is_some_and(|h| caller.can_see(h.owner_group.as_str(), h.workflow.as_str())) {
            return Err(ApiError::no_handoff(&id));
        }
    }
    // One policy version for the checks and the answer.
    let loaded = state.policy.current();
    let consulted = matches!(action, Action::ProvideContext { .. } | Action::Resolve(_));
    if let Action::ProvideContext { payload } = &action {
        check_provided_context(&state, &loaded, &caller, uuid, &id, payload).await?;
    }
    if let Action::Reassign { owner_group, .. }
    | Action::Escalate {
        owner_group: Some(owner_group),
        ..
    } = &action
    {
        // A misspelt group would strand the item where no reviewer looks.
        let loaded = state.policy.current();
        if loaded.policy.group(owner_group).is_none() {
            return Err(super::handoffs::undeclared_group(
                &loaded.policy,
                owner_group,
            ));
        }
    }
    if let Action::Resolve(receipt) = &action {
        let declared = loaded.policy.resolution_reasons();
        if !declared.is_empty() && !declared.contains_key(&receipt.resolution_reason) {
            let codes: Vec<&str> = declared.keys().map(String::as_str).collect();
            return Err(ApiError::invalid(
                "resolution_reason",
                format!(
                    "{} is not a declared resolution reason; use one of {}",
                    receipt.resolution_reason,
                    codes.join(", ")
                ),
            ));
        }
    }
    let acted = state
        .store
        .act(ActOn {
            id: uuid,
            action,
            actor: caller.name.clone(),
            now: state.clock.now(),
            claim_token,
            groups_in: caller.group_scope(),
            policy: loaded.policy.clone(),
        })
        .await
        .map_err(|e| match e {
            baton_store::StoreError::NotFound => ApiError::no_handoff(&id),
            other => other.into(),
        })?;
    state.metrics.handoff_acted(&acted, &loaded.policy);
    Ok(Json(ActionResult {
        handoff: HandoffView::new(&acted.handoff, state.clock.now()),
        event: &acted.event,
        claim_token: acted.claim_token.as_deref(),
        policy_version: consulted.then_some(loaded.policy.version.as_str()),
    })
    .into_response())
}

/// Refuses provided context that still misses the workflow's contract,
/// naming every field still missing; the handoff stays `needs_context`.
async fn check_provided_context(
    state: &AppState,
    loaded: &crate::LoadedPolicy,
    caller: &Caller,
    uuid: uuid::Uuid,
    id: &str,
    payload: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApiError> {
    let handoff = state
        .store
        .get_handoff(uuid)
        .await?
        .filter(|h| caller.can_see(h.owner_group.as_str(), h.workflow.as_str()))
        .ok_or_else(|| ApiError::no_handoff(id))?;
    if handoff.state != baton_core::LifecycleState::NeedsContext {
        return Ok(()); // the transition refuses it, naming the state
    }
    let mut merged = handoff.context.payload.clone();
    merged.extend(payload.clone());
    match loaded.policy.check_payload(
        handoff.workflow.as_str(),
        &serde_json::Value::Object(merged),
    ) {
        baton_core::policy::PayloadCheck::Complete => Ok(()),
        baton_core::policy::PayloadCheck::Incomplete { violations, .. } => Err(
            super::handoffs::contract_error(handoff.workflow.as_str(), &violations),
        ),
    }
}
