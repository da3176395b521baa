//! Wire shapes of responses, converted from domain types. Each derives
//! `ToSchema`, so `/openapi.json` describes exactly what handlers send.

use std::collections::BTreeMap;

use baton_core::policy::{DecisionAction, RuleTrace};
use baton_core::views::{AgingRow, ReasonTrend};
use baton_core::{Event, Handoff, Tier};
use jiff::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A handoff as the API shows it: every stored field plus its queue age.
#[derive(Serialize, ToSchema)]
pub struct HandoffView<'a> {
    /// The handoff's fields.
    #[serde(flatten)]
    pub handoff: &'a Handoff,
    /// Seconds since creation, at the time of the response.
    pub queue_age_seconds: i64,
}

impl<'a> HandoffView<'a> {
    /// The view of `handoff` at `now`.
    pub fn new(handoff: &'a Handoff, now: Timestamp) -> Self {
        Self {
            handoff,
            queue_age_seconds: now.duration_since(handoff.created_at).as_secs().max(0),
        }
    }
}

/// A handoff with its events, for `GET /v1/handoffs/{id}`.
#[derive(Serialize, ToSchema)]
pub struct HandoffDetail<'a> {
    /// The handoff.
    #[serde(flatten)]
    pub view: HandoffView<'a>,
    /// Its events, oldest first.
    pub events: &'a [Event],
}

/// The answer to an action.
#[derive(Serialize, ToSchema)]
pub struct ActionResult<'a> {
    /// The handoff after the action.
    pub handoff: HandoffView<'a>,
    /// The event appended.
    pub event: &'a Event,
    /// The claim token, after a claim: send it back to release, request info or resolve.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_token: Option<&'a str>,
    /// The policy version the action was checked against, for actions that
    /// consult the policy (resolve: resolution reasons; provide-context: the
    /// workflow's contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<&'a str>,
}

/// A page of `GET /v1/handoffs`.
#[derive(Serialize, ToSchema)]
pub struct HandoffPage<'a> {
    /// The handoffs of this page.
    pub items: Vec<HandoffView<'a>>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The handoffs of a leader view, oldest first.
#[derive(Serialize, ToSchema)]
pub struct HandoffList<'a> {
    /// The handoffs.
    pub items: Vec<HandoffView<'a>>,
}

/// A page of the global event feed.
#[derive(Serialize, ToSchema)]
pub struct EventPage<'a> {
    /// Events after the cursor, in log order.
    pub events: &'a [Event],
    /// Pass as `after` for the next page (the last position seen).
    pub next_after: i64,
}

/// Open handoffs counted by customer impact × age bucket.
#[derive(Serialize, ToSchema)]
pub struct AgingView {
    /// When the ages were measured.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// The age buckets, youngest first.
    pub buckets: Vec<&'static str>,
    /// One row per customer impact.
    pub rows: Vec<AgingRow>,
}

/// Handoffs per reason in the window ending now, against the window before.
#[derive(Serialize, ToSchema)]
pub struct ReasonsView {
    /// Start of the window.
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    /// End of the window (now).
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    /// Start of the window before.
    #[schema(value_type = String, format = DateTime)]
    pub previous_from: Timestamp,
    /// One row per reason.
    pub reasons: Vec<ReasonTrend>,
}

/// The active policy, for `GET /v1/policy`.
#[derive(Serialize, ToSchema)]
pub struct PolicyView<'a> {
    /// Its version (content hash).
    pub version: &'a str,
    /// Its text (TOML).
    pub text: &'a str,
    /// Declared workflows.
    pub workflows: Vec<&'a str>,
    /// Declared customer impacts, most urgent first.
    pub impacts: Vec<&'a str>,
    /// Declared handoff reasons and their descriptions.
    pub handoff_reasons: &'a BTreeMap<String, String>,
    /// Every version kept for replay.
    pub versions: Vec<PolicyVersion>,
    /// When and by whom this version was activated, once the database says
    /// it is the active one; `null` until then.
    pub activated: Option<PolicyActivation>,
}

/// When and by whom a policy version was activated.
#[derive(Serialize, ToSchema)]
pub struct PolicyActivation {
    /// When it was activated.
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    /// Who activated it: a token name, `serve --policy` or `serve`.
    pub by: String,
}

/// A kept policy version.
#[derive(Serialize, ToSchema)]
pub struct PolicyVersion {
    /// The version (content hash).
    pub version: String,
    /// When it was first loaded.
    #[schema(value_type = String, format = DateTime)]
    pub first_loaded_at: Timestamp,
}

/// The answer to `PUT /v1/policy`.
#[derive(Serialize, ToSchema)]
pub struct PolicyActivated<'a> {
    /// The version now active.
    pub version: &'a str,
    /// The version active before, if any.
    pub previous: Option<String>,
    /// False when the text was already the active version (nothing written).
    pub changed: bool,
}

/// The answer to `POST /v1/evaluate`.
#[derive(Serialize, ToSchema)]
pub struct Evaluation<'a> {
    /// What the automation should do.
    pub action: DecisionAction,
    /// Tier of the handoff or review item.
    pub tier: Option<Tier>,
    /// Its handoff reason.
    pub reason: Option<&'a str>,
    /// Its customer impact.
    pub impact: Option<&'a str>,
    /// The rule that decided (`sampling` for a sampled review).
    pub rule: Option<&'a str>,
    /// Every trigger, in order, and why it fired or not.
    pub trace: &'a [RuleTrace],
    /// The policy version that decided.
    pub policy_version: &'a str,
    /// With `create: true` and a decision other than `proceed`: the handoff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffView<'a>>,
    /// Whether the handoff was created by an earlier identical call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replayed: Option<bool>,
}

/// The answer of the health probes.
#[derive(Serialize, ToSchema)]
pub struct Status {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    pub status: &'static str,
}
