//! `POST /v1/evaluate`: should this go to a person? With `create: true` and a
//! context packet, the handoff is created in the same call, idempotent per
//! conversation and turn. A conversation's turns are evaluated one at a
//! time, in turn order ([`order`]), across instances.

mod order;

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use baton_core::policy::{Decision, DecisionAction, Signal};
use baton_core::{ContextPacket, NewHandoff, Permission, Subject};
use baton_store::{Idempotency, StreakStep};
use jiff::Timestamp;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use self::order::{Plan, StreakState, next_state, plan};
use super::handoffs::create_with_policy;
use super::view::{Evaluation, HandoffView};
use crate::extract::{ApiJson, Caller};
use crate::openapi::ErrorBody;
use crate::policy::LoadedPolicy;
use crate::{ApiError, AppState};

/// The handoff to create when the decision is not `proceed`; reason, impact
/// and tier come from the decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffDraft {
    workflow: String,
    subject: Subject,
    title: String,
    #[serde(default)]
    context: ContextPacket,
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    owner_group: Option<String>,
}

impl HandoffDraft {
    /// The handoff to create, its fields checked as a create would, whether
    /// or not one follows, so a bad draft is refused at once (naming
    /// `handoff.…`); impact, reason and tier are left for the decision.
    fn into_checked(self) -> Result<NewHandoff, ApiError> {
        let new = NewHandoff {
            workflow: self.workflow,
            subject: self.subject,
            title: self.title,
            impact: String::new(),
            reason: String::new(),
            tier: Default::default(),
            owner_group: self.owner_group,
            context: self.context,
            callback_url: self.callback_url,
        };
        new.check_draft().map_err(|e| {
            let e = ApiError::from(e);
            ApiError {
                field: e.field.clone().map(|f| format!("handoff.{f}")),
                ..e
            }
        })?;
        Ok(new)
    }
}

/// Body of `POST /v1/evaluate`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluateBody {
    /// The agent's signal; `conversation_id` and `turn` are required here.
    #[schema(schema_with = crate::openapi::evaluate_signal)]
    signal: serde_json::Value,
    /// Create the handoff when the decision is not `proceed` (needs `handoff`).
    #[serde(default)]
    create: bool,
    /// The handoff to create; reason, impact and tier come from the decision.
    #[serde(default)]
    handoff: Option<HandoffDraft>,
}

/// `POST /v1/evaluate`.
#[utoipa::path(
    post,
    path = "/v1/evaluate",
    tag = "evaluate",
    request_body = EvaluateBody,
    responses(
        (status = 200, description = "the decision, and the handoff when one was created", body = Evaluation),
        (status = 409, description = "the turn is older than the last evaluated turn of the conversation, or the handoff exists", body = ErrorBody),
        (status = 422, description = "a field is invalid, or the same turn came with another body", body = ErrorBody),
    )
)]
pub async fn evaluate_signal(
    State(state): State<AppState>,
    caller: Caller,
    body: ApiJson<EvaluateBody>,
) -> Result<Response, ApiError> {
    caller.require(Permission::Create)?;
    let EvaluateBody {
        mut signal,
        create,
        handoff,
    } = body.value;
    if signal.get("turn").is_none() {
        return Err(ApiError::invalid(
            "signal.turn",
            "give the turn number: streaks and idempotent creation count turns per conversation",
        ));
    }
    // JSON has one number type: `3.0` is the turn `3` (JSON Schema agrees).
    if let Some(turn) = signal["turn"].as_f64().filter(|t| {
        signal["turn"].is_f64() && t.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(t)
    }) {
        signal["turn"] = serde_json::json!(turn as u64);
    }
    let signal: Signal = crate::extract::from_value(signal).map_err(|e| ApiError {
        field: e.field.clone().map(|f| format!("signal.{f}")),
        ..e
    })?;
    if signal.conversation_id.trim().is_empty() {
        return Err(ApiError::invalid(
            "signal.conversation_id",
            "give the conversation or job id, 1 to 255 characters",
        ));
    }
    baton_core::limits::check("signal.conversation_id", &signal.conversation_id)?;
    for (field, text) in [
        ("signal.intent", &signal.intent),
        ("signal.text", &signal.text),
    ] {
        if let Some(text) = text {
            baton_core::limits::check(field, text)?;
        }
    }
    if create && handoff.is_none() {
        return Err(ApiError::invalid(
            "handoff",
            "with create: true, send the handoff's workflow, subject, title and context",
        ));
    }
    let draft = handoff.map(HandoffDraft::into_checked).transpose()?;
    let loaded = state.policy.current();
    let now = state.clock.now();
    // Streaks are kept per token and conversation: one agent's turns never
    // order or block another's that happens to use the same conversation id.
    let stream = format!("{}:{}", caller.id, signal.conversation_id);
    let decision = decide_in_order(&state, &loaded, &signal, &stream, now).await?;
    let mut created = None;
    if let (true, Some(draft), false) = (create, draft, decision.action == DecisionAction::Proceed)
    {
        let new = NewHandoff {
            impact: decision.impact.clone().unwrap_or_default(),
            reason: decision.reason.clone().unwrap_or_default(),
            tier: decision.tier.unwrap_or_default(),
            ..draft
        };
        // Scoped by token id, like a create's Idempotency-Key.
        let key = format!(
            "{}:evaluate:{}:{}",
            caller.id, signal.conversation_id, signal.turn
        );
        // The same turn sent again with another body is a mistake, not a retry.
        let idempotency = Idempotency {
            body_hash: hex::encode(Sha256::digest(&body.raw)),
            key,
        };
        let done = create_with_policy(&state, &loaded, &caller, new, Some(idempotency), now)
            .await
            .map_err(|e| match e.field.as_deref() {
                Some(f) if !f.starts_with("handoff.") => ApiError {
                    field: Some(format!("handoff.{f}")),
                    ..e
                },
                _ => e,
            })?;
        created = Some(done);
    }
    Ok(Json(Evaluation {
        action: decision.action,
        tier: decision.tier,
        reason: decision.reason.as_deref(),
        impact: decision.impact.as_deref(),
        rule: decision.rule.as_deref(),
        trace: &decision.trace,
        policy_version: &loaded.policy.version,
        handoff: created.as_ref().map(|c| HandoffView::new(&c.handoff, now)),
        replayed: created.as_ref().map(|c| c.replayed),
    })
    .into_response())
}

/// Evaluates `signal` against its conversation's stored streak counts
/// (kept under `stream`, `{token id}:{conversation id}`) and stores the new
/// counts, in one transaction with the conversation's row locked, waiting
/// (up to `evaluate_order_wait`) for missing earlier turns.
async fn decide_in_order(
    state: &AppState,
    loaded: &LoadedPolicy,
    signal: &Signal,
    stream: &str,
    now: Timestamp,
) -> Result<Decision, ApiError> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let may_wait = started.elapsed() < state.config.evaluate_order_wait;
        // A first look without the lock, so waiting turns hold no row.
        let ready = !may_wait || {
            let kept = read_state(state.store.load_streaks(stream).await?);
            plan(&kept, signal.turn, true) != Plan::Wait
        };
        if ready {
            let mut outcome = None;
            let saved = state
                .store
                .evaluate_streaks(stream, now, &mut |kept| {
                    let kept = read_state(kept.map(str::to_owned));
                    match plan(&kept, signal.turn, may_wait) {
                        Plan::Wait => StreakStep::Leave,
                        Plan::TooOld { last } => {
                            outcome = Some(Err(last));
                            StreakStep::Leave
                        }
                        Plan::Evaluate { previous, skips } => {
                            let decision = loaded.policy.evaluate(signal, &previous);
                            let next =
                                next_state(signal.turn, previous, decision.streaks.clone(), skips);
                            outcome = Some(Ok(decision));
                            StreakStep::Save(serde_json::to_string(&next).unwrap_or_default())
                        }
                    }
                })
                .await?;
            match outcome {
                Some(Ok(decision)) if saved => return Ok(decision),
                Some(Err(last)) => {
                    return Err(ApiError::new(
                        "conflict",
                        format!(
                            "turn {} is older than the last evaluated turn {last} of this conversation; evaluate turns in order",
                            signal.turn
                        ),
                    )
                    .with_field("signal.turn"));
                }
                _ => {}
            }
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// The stored state; unreadable or missing counts start afresh.
fn read_state(text: Option<String>) -> StreakState {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}
